/**
 * Local fidelity: resource types, property names, required properties and primitive types checked against the
 * CloudFormation resource specification, as `@aws-cdk/aws-service-spec` (the database CDK itself generates from)
 * has it, so what CloudFormation would refuse at create time is refused by `render`, `plan` and the local target.
 *
 * The built CLI reads a per-service index of it written at build time (bin/spec-index.js → dist/spec/); run from
 * source, the database is loaded on first use only: importing the package takes about 50 ms and loading its 2.8 MB
 * database 0.5-1.7 s and about 150 MB here, so nothing in a Lambda's init path (or the AWS functions at all) imports it.
 *
 * Only what is certain is refused: literal values of the wrong primitive type, unknown `AWS::` types, unknown and
 * missing properties of known types. Intrinsics are values CloudFormation computes and are not judged; resources a
 * transform owns (`AWS::Serverless::*`) and templates with macros are named as not expanded locally instead.
 */
import type { CfnTemplate } from '../model.ts';

export interface SpecProblem {
  /** Path in the template: `['Resources', 'Fn', 'Properties', 'MemorySize']`. */
  readonly path: readonly (string | number)[];
  readonly resource: string;
  readonly property?: string;
  readonly message: string;
}

export interface SpecCheck {
  readonly problems: readonly SpecProblem[];
  /** Transforms and macros that CloudFormation expands and lambda-gitops cannot: named, not judged. */
  readonly unexpanded: readonly string[];
}

interface SpecType {
  readonly type: string;
  readonly reference?: unknown;
  readonly element?: SpecType;
  readonly types?: readonly SpecType[];
}
interface SpecProperty {
  readonly type: SpecType;
  readonly required?: boolean;
}
interface SpecShape {
  readonly properties: Readonly<Record<string, SpecProperty>>;
}
/** What the check reads of the specification: a resource type's shape, and the property types it references. */
interface SpecLookup {
  resource(type: string): SpecShape | undefined;
  definition(reference: unknown): SpecShape;
}
interface SpecDb {
  lookup(
    table: 'resource',
    index: 'cloudFormationType',
    op: 'equals',
    value: string,
  ): { only(): SpecShape; length: number };
  get(table: 'typeDefinition', ref: unknown): SpecShape;
}

let database: Promise<SpecDb> | undefined;

/** The specification database, loaded once per process on first use. */
export function loadResourceSpec(): Promise<SpecDb> {
  database ??= import('@aws-cdk/aws-service-spec').then((m) => m.loadAwsServiceSpec() as unknown as Promise<SpecDb>);
  return database;
}

/** One service's file of the index bin/spec-index.js writes at build time. */
interface IndexFile {
  readonly resources: Readonly<Record<string, SpecShape>>;
  readonly definitions: Readonly<Record<string, SpecShape>>;
}

/**
 * The built CLI carries the specification as a per-service index beside its modules (dist/spec/, written by
 * bin/build.js from the same database): a stack of SQS queues reads a 1 KB file instead of the 2.8 MB database
 *. Run from source there is no index, and the
 * database is loaded as before.
 */
let indexDir: URL | undefined;
let indexServices: Promise<ReadonlySet<string> | undefined> | undefined;
const indexFiles = new Map<string, Promise<IndexFile>>();

function indexedServices(): Promise<ReadonlySet<string> | undefined> {
  indexServices ??= (async () => {
    const { readFile } = await import('node:fs/promises');
    try {
      // Resolved on first use, not at import: a bundle without a module URL simply has no index.
      indexDir = new URL('./spec/', import.meta.url);
      if (indexDir.protocol !== 'file:') return undefined;
      const index = JSON.parse(await readFile(new URL('index.json', indexDir), 'utf8')) as { services: string[] };
      return new Set(index.services);
    } catch {
      return undefined;
    }
  })();
  return indexServices;
}

/** `AWS::SQS::Queue` → `sqs`, as bin/spec-index.js names the files; undefined for anything else. */
function serviceOf(type: string): string | undefined {
  const match = /^AWS::([A-Za-z0-9]{1,64})::[A-Za-z0-9]{1,128}$/.exec(type);
  return match ? match[1]!.toLowerCase() : undefined;
}

async function lookupFor(types: readonly string[]): Promise<SpecLookup> {
  const services = await indexedServices();
  if (!services) {
    const db = await loadResourceSpec();
    return {
      resource(type) {
        const found = db.lookup('resource', 'cloudFormationType', 'equals', type);
        return found.length === 0 ? undefined : found.only();
      },
      definition: (reference) => db.get('typeDefinition', reference),
    };
  }
  const { readFile } = await import('node:fs/promises');
  const files = new Map<string, IndexFile>();
  for (const service of new Set(types.map(serviceOf))) {
    // The service name comes from the template: only names the index lists become a path.
    if (service === undefined || !services.has(service)) continue;
    let file = indexFiles.get(service);
    if (!file) {
      file = readFile(new URL(`${service}.json`, indexDir), 'utf8').then((text) => JSON.parse(text) as IndexFile);
      indexFiles.set(service, file);
    }
    files.set(service, await file);
  }
  // Definition ids are the database's, unique across services, so one map serves every file read.
  const definitions = new Map<string, SpecShape>();
  for (const file of files.values())
    for (const [id, shape] of Object.entries(file.definitions)) definitions.set(id, shape);
  return {
    resource(type) {
      const file = files.get(serviceOf(type) ?? '');
      return file && Object.hasOwn(file.resources, type) ? file.resources[type] : undefined;
    },
    definition(reference) {
      const shape = definitions.get(String(reference));
      if (!shape) throw new Error(`resource specification index: no definition ${String(reference)}`);
      return shape;
    },
  };
}

/** Transforms CloudFormation itself hosts; anything else in `Transform` or `Fn::Transform` is a macro of the account. */
const HOSTED_TRANSFORMS = new Set([
  'AWS::Serverless-2016-10-31',
  'AWS::Include',
  'AWS::LanguageExtensions',
  'AWS::CodeDeployBlueGreen',
  'AWS::SecretsManager-2020-07-23',
  'AWS::ServiceCatalog',
]);

/** Transforms and macros of a template that only CloudFormation expands, named for people. No database needed. */
export function unexpandedOf(template: CfnTemplate): string[] {
  return transformNames(template).map((t) =>
    HOSTED_TRANSFORMS.has(t)
      ? `transform ${t} (CloudFormation expands it when the change set is made)`
      : `macro ${t} (expanded by CloudFormation if the account has it; not checked here)`,
  );
}

export async function checkResourceSpec(template: CfnTemplate): Promise<SpecCheck> {
  const transforms = transformNames(template);
  const unexpanded = unexpandedOf(template);
  // A macro may rewrite anything: the template as written is not what CloudFormation validates.
  if (transforms.some((t) => !HOSTED_TRANSFORMS.has(t) && t !== 'AWS::Include')) return { problems: [], unexpanded };
  const resources = Object.entries(template.Resources ?? {});
  const db = await lookupFor(resources.map(([, r]) => (typeof r?.Type === 'string' ? r.Type : '')));
  const problems: SpecProblem[] = [];
  for (const [id, resource] of resources) {
    const type = typeof resource?.Type === 'string' ? resource.Type : '';
    if (
      !type.startsWith('AWS::') ||
      type.startsWith('AWS::Serverless::') ||
      type === 'AWS::CloudFormation::CustomResource'
    )
      continue;
    const shape = db.resource(type);
    if (!shape) {
      problems.push({ path: ['Resources', id, 'Type'], resource: id, message: `unknown resource type ${type}` });
      continue;
    }
    const props = resource.Properties;
    if (props === undefined || props === null) {
      const required = requiredOf(shape);
      if (required.length) {
        problems.push({
          path: ['Resources', id],
          resource: id,
          message: `${type} requires ${required.join(', ')}`,
        });
      }
      continue;
    }
    checkObject(db, shape, props, ['Resources', id, 'Properties'], id, type, problems);
  }
  return { problems, unexpanded };
}

function checkObject(
  db: SpecLookup,
  shape: SpecShape,
  value: unknown,
  path: (string | number)[],
  resource: string,
  what: string,
  problems: SpecProblem[],
): void {
  if (isIntrinsic(value)) return;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ path, resource, message: `${what}: expected an object, got ${describe(value)}` });
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [name, child] of Object.entries(record)) {
    const property = shape.properties[name];
    if (!property) {
      const known = Object.keys(shape.properties).sort();
      problems.push({
        path: [...path, name],
        resource,
        property: name,
        message: `${what} has no property ${name}${suggest(name, known)}`,
      });
      continue;
    }
    checkValue(db, property.type, child, [...path, name], resource, `${what}.${name}`, problems);
  }
  const missing = requiredOf(shape).filter((name) => !(name in record));
  if (missing.length) {
    problems.push({ path, resource, property: missing[0], message: `${what} requires ${missing.join(', ')}` });
  }
}

function checkValue(
  db: SpecLookup,
  type: SpecType,
  value: unknown,
  path: (string | number)[],
  resource: string,
  what: string,
  problems: SpecProblem[],
): void {
  if (value === null || value === undefined || isIntrinsic(value)) return;
  const fail = (expected: string) =>
    problems.push({
      path,
      resource,
      property: String(path[3] ?? ''),
      message: `${what} must be ${expected}, got ${describe(value)}`,
    });
  switch (type.type) {
    case 'string':
    case 'date-time':
      // Numbers and booleans are accepted as their text; an object or list is not.
      if (typeof value === 'object') fail('a string');
      return;
    case 'integer':
    case 'number': {
      const n =
        typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n) || (type.type === 'integer' && !Number.isInteger(n)))
        fail(`${type.type === 'integer' ? 'an integer' : 'a number'}`);
      return;
    }
    case 'boolean':
      if (!(typeof value === 'boolean' || value === 'true' || value === 'false')) fail('true or false');
      return;
    case 'array':
      if (!Array.isArray(value)) {
        fail('a list');
        return;
      }
      if (type.element) {
        for (const [i, item] of value.entries())
          checkValue(db, type.element, item, [...path, i], resource, `${what}[${i}]`, problems);
      }
      return;
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) fail('a mapping');
      return;
    case 'ref':
      checkObject(db, db.definition(type.reference), value, path, resource, what, problems);
      return;
    case 'tag':
      if (typeof value !== 'object' || Array.isArray(value)) fail('a tag {Key, Value}');
      return;
    default:
      // json, union, null: anything CloudFormation can take.
      return;
  }
}

function requiredOf(shape: SpecShape): string[] {
  return Object.entries(shape.properties)
    .filter(([, p]) => p.required)
    .map(([name]) => name)
    .sort();
}

const INTRINSIC = /^(?:Ref|Condition|Fn::[A-Za-z]+)$/;

function isIntrinsic(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && INTRINSIC.test(keys[0]!);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value && typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function suggest(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  const close =
    known.find((k) => k.toLowerCase() === lower) ?? known.find((k) => distance(k.toLowerCase(), lower) <= 2);
  return close ? ` (did you mean ${close}?)` : '';
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function transformNames(template: CfnTemplate): string[] {
  const names = new Set<string>();
  const add = (t: unknown) => {
    if (typeof t === 'string') names.add(t);
    else if (t && typeof t === 'object' && typeof (t as { Name?: unknown }).Name === 'string') {
      names.add((t as { Name: string }).Name);
    }
  };
  const top = template.Transform;
  for (const t of Array.isArray(top) ? top : top === undefined ? [] : [top]) add(t);
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === 'Fn::Transform') add(child);
        visit(child);
      }
    }
  };
  visit(template.Resources);
  return [...names].sort();
}
