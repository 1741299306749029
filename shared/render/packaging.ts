/**
 * Packaging, as `aws cloudformation package` does it: properties of the AWS CLI's list (awscli/customizations/
 * cloudformation/artifact_exporter.py, RESOURCES_EXPORT_LIST and the AWS::Include transform) that name a local path
 * are replaced by the S3 location of the packaged file. A folder is zipped, a single file is zipped where the
 * resource needs a zip (Lambda code and layers) and uploaded as it is otherwise; a nested template is packaged by the
 * same rules and uploaded as JSON. Paths are relative to the template that names them and stay in the repository.
 *
 * Everything is content-addressed (the object key is the sha256 of the bytes) and the zips are deterministic, so
 * the rendered stack, and its hash, change exactly when the packaged content changes; the files read are inputs of
 * the stack, so a code change re-renders only the stacks that use that code.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { RepoTree } from '../config/repo-tree.ts';
import { ConfigError, Reason } from '../errors.ts';
import type { ArtifactRef, CfnTemplate } from '../model.ts';
import type { RepoSnapshot } from '../ports.ts';
import { parseTemplate } from './cfn-template.ts';
import { localPathOf, MAX_NESTED_TEMPLATES, MAX_NESTING_DEPTH, repoPathFrom } from './nested-templates.ts';
import { deterministicZip } from './zip.ts';

/** How a packaged property is written back. */
type Form =
  /** `s3://bucket/key` */
  | { readonly kind: 's3url' }
  /** `{ <bucket>: bucket, <key>: key }` */
  | { readonly kind: 'object'; readonly bucket: string; readonly key: string }
  /** A nested template: packaged too, uploaded as JSON, `https://` URL. */
  | { readonly kind: 'template' };

export interface PackagedProperty {
  readonly type: string;
  /** Property path below `Properties`, dotted (`Command.ScriptLocation`). */
  readonly property: string;
  readonly form: Form;
  /** Zip a single file too (Lambda code and layers need a zip). Folders are always zipped. */
  readonly forceZip?: boolean;
}

const S3URL: Form = { kind: 's3url' };
const TEMPLATE: Form = { kind: 'template' };
const object = (bucket: string, key: string): Form => ({ kind: 'object', bucket, key });

/** The AWS CLI's list (aws-cli v2, artifact_exporter.py), in its order. */
export const PACKAGED_PROPERTIES: readonly PackagedProperty[] = [
  { type: 'AWS::Serverless::Function', property: 'CodeUri', form: S3URL, forceZip: true },
  { type: 'AWS::Serverless::Api', property: 'DefinitionUri', form: S3URL },
  { type: 'AWS::AppSync::GraphQLSchema', property: 'DefinitionS3Location', form: S3URL },
  { type: 'AWS::AppSync::Resolver', property: 'RequestMappingTemplateS3Location', form: S3URL },
  { type: 'AWS::AppSync::Resolver', property: 'ResponseMappingTemplateS3Location', form: S3URL },
  { type: 'AWS::AppSync::FunctionConfiguration', property: 'RequestMappingTemplateS3Location', form: S3URL },
  { type: 'AWS::AppSync::FunctionConfiguration', property: 'ResponseMappingTemplateS3Location', form: S3URL },
  { type: 'AWS::ApiGateway::RestApi', property: 'BodyS3Location', form: object('Bucket', 'Key') },
  { type: 'AWS::Lambda::Function', property: 'Code', form: object('S3Bucket', 'S3Key'), forceZip: true },
  { type: 'AWS::ElasticBeanstalk::ApplicationVersion', property: 'SourceBundle', form: object('S3Bucket', 'S3Key') },
  { type: 'AWS::CloudFormation::Stack', property: 'TemplateURL', form: TEMPLATE },
  { type: 'AWS::Serverless::Application', property: 'Location', form: TEMPLATE },
  { type: 'AWS::Serverless::LayerVersion', property: 'ContentUri', form: S3URL, forceZip: true },
  { type: 'AWS::Lambda::LayerVersion', property: 'Content', form: object('S3Bucket', 'S3Key'), forceZip: true },
  { type: 'AWS::Glue::Job', property: 'Command.ScriptLocation', form: S3URL },
  { type: 'AWS::StepFunctions::StateMachine', property: 'DefinitionS3Location', form: object('Bucket', 'Key') },
  { type: 'AWS::Serverless::StateMachine', property: 'DefinitionUri', form: object('Bucket', 'Key') },
  { type: 'AWS::CodeCommit::Repository', property: 'Code.S3', form: object('Bucket', 'Key'), forceZip: true },
];

/** Files in one packaged folder. A zip without zip64 holds 65,535; Lambda code rarely comes near this. */
export const MAX_ARTIFACT_FILES = 10_000;
/** Bytes read for one stack's artifacts (Lambda's own limit for unzipped code is 250 MB). */
export const MAX_ARTIFACT_BYTES = 100 * 1024 * 1024;

/** CloudFormation's TemplateURL limit, for a packaged nested template. */
export const MAX_NESTED_TEMPLATE_BYTES = 1_000_000;
/** CloudFormation's limit of dynamic references per template (as render.ts checks for the stack's own). */
export const MAX_NESTED_DYNAMIC_REFERENCES = 60;

/** Where render writes artifacts when no store says: deterministic, and obviously not a real bucket. */
export const UNPUBLISHED_ARTIFACTS = {
  bucket: 'lambda-gitops-local',
  url: (key: string) => `https://lambda-gitops-local.invalid/${key}`,
};

export interface ArtifactLocation {
  readonly bucket: string;
  url(key: string): string;
}

export interface PackagedStack {
  readonly template: CfnTemplate;
  readonly artifacts: readonly ArtifactRef[];
  /** Every file read (path → blob id) and every packaged folder (`dir/` → digest of its listing). */
  readonly inputs: Readonly<Record<string, string>>;
  /** Nested templates as packaged, by logical path. */
  readonly nestedTemplates: Readonly<Record<string, CfnTemplate>>;
  /** The file of each nested template, by logical path (for messages). */
  readonly nestedFiles: Readonly<Record<string, string>>;
}

/** Per render: parsed templates and built artifacts, shared by every stack and environment. */
export class PackagingCache {
  readonly templates = new Map<string, Promise<CfnTemplate>>();
  readonly artifacts = new Map<string, Promise<{ ref: ArtifactRef; inputs: Record<string, string> }>>();
}

interface Walk {
  readonly tree: RepoTree;
  readonly location: ArtifactLocation;
  readonly cache: PackagingCache;
  readonly artifacts: Map<string, ArtifactRef>;
  readonly inputs: Record<string, string>;
  readonly nested: Record<string, CfnTemplate>;
  readonly nestedFiles: Record<string, string>;
  bytes: number;
}

/** Packages `template` (read from `file`) for one target location. The input template is not modified. */
export async function packageTemplate(
  tree: RepoTree,
  file: string,
  template: CfnTemplate,
  location: ArtifactLocation,
  cache: PackagingCache,
): Promise<PackagedStack> {
  const walk: Walk = { tree, location, cache, artifacts: new Map(), inputs: {}, nested: {}, nestedFiles: {}, bytes: 0 };
  const packaged = await packageOne(walk, file, template, 1, [file], '');
  return {
    template: packaged,
    artifacts: [...walk.artifacts.values()].sort((a, b) => a.key.localeCompare(b.key)),
    inputs: walk.inputs,
    nestedTemplates: walk.nested,
    nestedFiles: walk.nestedFiles,
  };
}

async function packageOne(
  walk: Walk,
  file: string,
  template: CfnTemplate,
  depth: number,
  chain: readonly string[],
  logicalPath: string,
): Promise<CfnTemplate> {
  const out = structuredClone(template) as Record<string, unknown> & CfnTemplate;
  const resources = (out.Resources ?? {}) as Record<string, { Type?: unknown; Properties?: Record<string, unknown> }>;
  for (const [logicalId, resource] of Object.entries(resources)) {
    const type = typeof resource?.Type === 'string' ? resource.Type : '';
    for (const spec of PACKAGED_PROPERTIES) {
      if (spec.type !== type || !resource.Properties) continue;
      const holder = parentOf(resource.Properties, spec.property);
      const name = spec.property.split('.').at(-1)!;
      const reference = holder ? localPathOf(holder[name]) : undefined;
      if (reference === undefined || reference.startsWith('s3://')) continue;
      const field = `Resources.${logicalId}.Properties.${spec.property}`;
      if (spec.form.kind === 'template') {
        const nestedPath = logicalPath ? `${logicalPath}/${logicalId}` : logicalId;
        holder![name] = await packageNested(walk, file, reference, field, depth, chain, nestedPath);
        continue;
      }
      const ref = await artifactFor(walk, file, reference, field, spec.forceZip === true);
      holder![name] =
        spec.form.kind === 's3url'
          ? `s3://${walk.location.bucket}/${ref.key}`
          : { [spec.form.bucket]: walk.location.bucket, [spec.form.key]: ref.key };
    }
  }
  await packageIncludes(walk, file, out);
  return out;
}

/** `Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./snippet.yaml}}`, anywhere in the template. */
async function packageIncludes(walk: Walk, file: string, value: unknown, path = ''): Promise<void> {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) await packageIncludes(walk, file, item, `${path}[${i}]`);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  if (record['Name'] === 'AWS::Include' && record['Parameters'] && typeof record['Parameters'] === 'object') {
    const parameters = record['Parameters'] as Record<string, unknown>;
    const reference = localPathOf(parameters['Location']);
    if (reference !== undefined && !reference.startsWith('s3://')) {
      const ref = await artifactFor(walk, file, reference, `${path}.Parameters.Location`.replace(/^\./, ''), false);
      parameters['Location'] = `s3://${walk.location.bucket}/${ref.key}`;
    }
  }
  for (const [key, child] of Object.entries(record)) {
    await packageIncludes(walk, file, child, path ? `${path}.${key}` : key);
  }
}

async function packageNested(
  walk: Walk,
  file: string,
  reference: string,
  field: string,
  depth: number,
  chain: readonly string[],
  logicalPath: string,
): Promise<string> {
  if (depth > MAX_NESTING_DEPTH) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${file}: ${field}: nested templates go deeper than ${MAX_NESTING_DEPTH} levels`,
      { file, field },
    );
  }
  if (Object.keys(walk.nested).length >= MAX_NESTED_TEMPLATES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${file}: ${field}: more than ${MAX_NESTED_TEMPLATES} nested templates in one stack`,
      { file, field },
    );
  }
  const path = repoPathFrom(file, reference, field);
  const resolved = await walk.tree.resolve(path, { file, field });
  const target = resolved.entry.path;
  if (chain.includes(target)) {
    throw new ConfigError(
      Reason.InvalidTemplate,
      `${file}: ${field}: "${reference}" nests ${[...chain, target].join(' → ')}, a cycle`,
      { file, field },
    );
  }
  for (const entry of resolved.via) walk.inputs[entry.path] = entry.oid;
  let parsed = walk.cache.templates.get(target);
  if (!parsed) {
    parsed = walk.tree.readText(target).then((text) => parseTemplate(text, target));
    walk.cache.templates.set(target, parsed);
  }
  const packaged = await packageOne(walk, target, await parsed, depth + 1, [...chain, target], logicalPath);
  walk.nested[logicalPath] = packaged;
  walk.nestedFiles[logicalPath] = target;
  const body = JSON.stringify(packaged);
  // The same limits as a stack's own template: CloudFormation reads a nested template from S3 (1 MB at most) and
  // resolves at most 60 dynamic references in it.
  if (Buffer.byteLength(body) > MAX_NESTED_TEMPLATE_BYTES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${target}: the packaged nested template is ${Buffer.byteLength(body)} bytes; CloudFormation reads at most ${MAX_NESTED_TEMPLATE_BYTES}`,
      { file: target, field },
    );
  }
  const references = body.split('{{resolve:').length - 1;
  if (references > MAX_NESTED_DYNAMIC_REFERENCES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${target}: ${references} dynamic references ({{resolve:...}}); CloudFormation allows at most ${MAX_NESTED_DYNAMIC_REFERENCES} per template`,
      { file: target, field },
    );
  }
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = `templates/${sha256}.json`;
  walk.artifacts.set(key, {
    key,
    sha256,
    size: Buffer.byteLength(body),
    source: target,
    kind: 'template',
    body,
  });
  return walk.location.url(key);
}

/** The artifact for a local file or folder; built once per render whatever the target. */
async function artifactFor(
  walk: Walk,
  file: string,
  reference: string,
  field: string,
  forceZip: boolean,
): Promise<ArtifactRef> {
  const path = repoPathFrom(file, reference, field);
  const cacheKey = `${forceZip ? 'zip' : 'raw'}:${path}`;
  let built = walk.cache.artifacts.get(cacheKey);
  if (!built) {
    built = buildArtifact(walk.tree, path, { file, field }, forceZip);
    walk.cache.artifacts.set(cacheKey, built);
  }
  const { ref, inputs } = await built;
  walk.bytes += ref.size;
  if (walk.bytes > MAX_ARTIFACT_BYTES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${file}: ${field}: the stack's packaged artifacts are over ${MAX_ARTIFACT_BYTES / 1024 / 1024} MB`,
      { file, field },
    );
  }
  Object.assign(walk.inputs, inputs);
  walk.artifacts.set(ref.key, ref);
  return ref;
}

async function buildArtifact(
  tree: RepoTree,
  path: string,
  origin: { file: string; field: string },
  forceZip: boolean,
): Promise<{ ref: ArtifactRef; inputs: Record<string, string> }> {
  const inputs: Record<string, string> = {};
  const folder = tree.under(path);
  if (folder.length > 0) {
    if (folder.length > MAX_ARTIFACT_FILES) {
      throw new ConfigError(
        Reason.LimitExceeded,
        `${origin.file}: ${origin.field}: "${path}" has ${folder.length} files; at most ${MAX_ARTIFACT_FILES} are packaged`,
        origin,
      );
    }
    const files: { path: string; name: string; oid: string; mode: string }[] = [];
    for (const entry of folder) {
      // A symbolic link inside the folder is packaged as the file it points at (inside the repository).
      const resolved = await tree.resolve(entry.path, origin);
      for (const e of resolved.via) inputs[e.path] = e.oid;
      files.push({
        path: resolved.entry.path,
        name: entry.path.slice(path.length + 1),
        oid: resolved.entry.oid,
        mode: resolved.entry.mode,
      });
    }
    inputs[`${path}/`] = directoryDigest(tree, path);
    return { ref: await zipRef(tree, path, files), inputs };
  }
  const resolved = await tree.resolve(path, origin);
  for (const e of resolved.via) inputs[e.path] = e.oid;
  const entry = resolved.entry;
  const file = { path: entry.path, name: posix.basename(path), oid: entry.oid, mode: entry.mode };
  if (forceZip && !path.toLowerCase().endsWith('.zip')) return { ref: await zipRef(tree, path, [file]), inputs };
  const bytes = await tree.snapshot.readFile(entry.path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const ext = posix
    .extname(path)
    .toLowerCase()
    .replace(/[^.a-z0-9]/g, '');
  return {
    ref: {
      key: `artifacts/${sha256}${ext}`,
      sha256,
      size: bytes.byteLength,
      source: path,
      kind: 'file',
      files: [file],
    },
    inputs,
  };
}

async function zipRef(
  tree: RepoTree,
  source: string,
  files: readonly { path: string; name: string; oid: string; mode: string }[],
): Promise<ArtifactRef> {
  const bytes = await zipOf(tree.snapshot, files);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { key: `artifacts/${sha256}.zip`, sha256, size: bytes.byteLength, source, kind: 'zip', files };
}

async function zipOf(
  snapshot: Pick<RepoSnapshot, 'readFile'>,
  files: readonly { path: string; name: string; mode: string }[],
): Promise<Buffer> {
  const entries = [];
  for (const f of files) entries.push({ name: f.name, data: await snapshot.readFile(f.path), mode: f.mode });
  return deterministicZip(entries);
}

/**
 * The bytes of an artifact, built again from the commit's blobs (what render hashed, so the store gets exactly the
 * object the template names). Throws when they do not hash to the key: packaging must be deterministic.
 */
export async function artifactBytes(snapshot: Pick<RepoSnapshot, 'readFile'>, ref: ArtifactRef): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (ref.kind === 'template') bytes = Buffer.from(ref.body ?? '', 'utf8');
  else if (ref.kind === 'zip') bytes = await zipOf(snapshot, ref.files ?? []);
  else bytes = await snapshot.readFile(ref.files?.[0]?.path ?? ref.source);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== ref.sha256) {
    throw new ConfigError(
      Reason.InvalidTemplate,
      `packaging ${ref.source} is not reproducible: built ${sha256.slice(0, 12)}, rendered ${ref.sha256.slice(0, 12)}`,
    );
  }
  return bytes;
}

/** `tree:<sha1>` of a folder's listing (paths, modes, blob ids): it changes when a file is added, removed or edited. */
export function directoryDigest(tree: Pick<RepoTree, 'under'>, dir: string): string {
  const listing = tree
    .under(dir)
    .map((e) => `${e.mode} ${e.oid} ${e.path}`)
    .join('\n');
  return `tree:${createHash('sha1').update(listing).digest('hex')}`;
}

/** The object that holds the last segment of a dotted property path, when every parent is an object. */
function parentOf(properties: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  const segments = path.split('.');
  let current: unknown = properties;
  for (const segment of segments.slice(0, -1)) {
    if (!current || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current && typeof current === 'object' && !Array.isArray(current)
    ? (current as Record<string, unknown>)
    : undefined;
}
