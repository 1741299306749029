/**
 * Renders the repository's stacks for their environments: everything CloudFormation would receive, checked and
 * hashed. A stack whose input files did not change since it was applied is not rendered again, and an error in one
 * stack never stops the others.
 */
import { GITOPS_FILE } from '../config/load.ts';
import { RepoTree } from '../config/repo-tree.ts';
import { ConfigError, type GitOpsError, Reason, toGitOpsError } from '../errors.ts';
import {
  type CfnTemplate,
  type EnvironmentSpec,
  type RenderedStack,
  type RepoConfig,
  type StackKey,
  type StackSpec,
  stackKey,
} from '../model.ts';
import { REPOSITORY_TAG, RESERVED_TAG_PREFIX } from '../policy/ownership.ts';
import type { ArtifactStore, RepoSnapshot } from '../ports.ts';
import { inferCapabilities, mergeCapabilities } from './capabilities.ts';
import { parseTemplate, templateLineOf } from './cfn-template.ts';
import { canonicalJson, sha256Hex } from './hash.ts';
import { declaresPatterns, loadPatternMatcher, type PatternMatcher } from './linear-pattern.ts';
import { withLines } from './locate.ts';
import {
  type ArtifactLocation,
  directoryDigest,
  type PackagedStack,
  PackagingCache,
  packageTemplate,
  UNPUBLISHED_ARTIFACTS,
} from './packaging.ts';
import { resolveParameters } from './parameters.ts';
import { checkResourceSpec, unexpandedOf } from './resource-spec.ts';
import { evaluateRules, parameterValuesForRules } from './rules.ts';
import { assertNoPlaintextSecrets, type ScannedValue, templateLiterals } from './secrets-scan.ts';
import { mergeTags } from './tags.ts';

export interface RenderOptions {
  /** Only these environments (CLI `--env`). @default all */
  readonly environments?: readonly string[];
  /** Only these stacks (CLI `--stack`). @default all */
  readonly stacks?: readonly string[];
  /** What the last apply of a stack read: when the input blob ids are the same, the stack is `unchanged`. */
  readonly previous?: (key: StackKey) => { inputs: Record<string, string>; hash: string } | undefined;
  /**
   * Render environments bound to another branch too. By default an environment with `branch` set is only rendered
   * from a snapshot of that branch, so a push to `main` never deploys the `release` environment.
   * @default false
   */
  readonly ignoreBranch?: boolean;
  /**
   * Prepended to every stack name that does not start with it already. The AWS installation only has rights on stacks
   * named `<prefix>*` (its IAM policies and service role are scoped so), so the AWS target passes its prefix here and
   * every render, plan and apply agrees on the real name.
   * @default '' (names as the repository gives them)
   */
  readonly stackNamePrefix?: string;
  /** Where packaged artifacts live for a target: written into the template. @default UNPUBLISHED_ARTIFACTS */
  readonly artifacts?: Pick<ArtifactStore, 'locate'>;
  /**
   * Check resource types, property names, required properties and primitive types against the CloudFormation
   * resource specification (loads a 2.8 MB database on first use: the local target and the CLI, not the functions).
   * @default false
   */
  readonly checkResources?: boolean;
}

export interface RenderFailure {
  readonly key: StackKey;
  readonly stack: string;
  readonly environment: string;
  readonly error: GitOpsError;
}

export interface RenderOutcome {
  readonly rendered: RenderedStack[];
  /** Stacks skipped because none of their inputs changed. */
  readonly unchanged: StackKey[];
  readonly errors: RenderFailure[];
}

/** CloudFormation's rule for stack names. */
export const STACK_NAME_PATTERN = /^[A-Za-z][-A-Za-z0-9]*$/;
export const MAX_STACK_NAME = 128;
/** CloudFormation's limit of dynamic references (`{{resolve:...}}`) per template. */
export const MAX_DYNAMIC_REFERENCES = 60;

export async function renderStacks(
  snapshot: RepoSnapshot,
  config: RepoConfig,
  options: RenderOptions = {},
): Promise<RenderOutcome> {
  checkSelection(
    'environment',
    options.environments,
    config.environments.map((e) => e.name),
  );
  checkSelection(
    'stack',
    options.stacks,
    config.stacks.map((s) => s.name),
  );
  const tree = await RepoTree.of(snapshot);
  const packaging = new PackagingCache();
  const templates = packaging.templates;
  const outcome: RenderOutcome = { rendered: [], unchanged: [], errors: [] };

  for (const env of config.environments) {
    if (options.environments && !options.environments.includes(env.name)) continue;
    if (!options.ignoreBranch && env.branch !== undefined && env.branch !== snapshot.branch) continue;
    for (const spec of config.stacks) {
      if (options.stacks && !options.stacks.includes(spec.name)) continue;
      if (!spec.environments.includes(env.name)) continue;
      const key = stackKey(env.name, spec.name);
      try {
        const direct = await collectInputs(tree, config, spec);
        const previous = options.previous?.(key);
        if (previous && inputsUnchanged(tree, previous.inputs, direct.oids)) {
          outcome.unchanged.push(key);
          continue;
        }
        let template = templates.get(direct.templateFile);
        if (!template) {
          template = tree.readText(direct.templateFile).then((text) => parseTemplate(text, direct.templateFile));
          templates.set(direct.templateFile, template);
        }
        const parsed = await template;
        const matchPattern = declaresPatterns(parsed.Parameters) ? await loadPatternMatcher() : undefined;
        // Local code, definitions and nested templates are packaged where the stack runs (its region and account);
        // every file read is an input, and nested templates give their capabilities to the parent.
        const override = spec.overrides[env.name] ?? {};
        const location = lazyLocation(() =>
          options.artifacts
            ? options.artifacts.locate({
                region: override.region ?? env.region,
                ...(env.role ? { role: env.role } : {}),
                ...(env.externalId ? { externalId: env.externalId } : {}),
              })
            : UNPUBLISHED_ARTIFACTS,
        );
        const packaged = await packageTemplate(tree, direct.templateFile, parsed, location, packaging);
        const inputs: Inputs = { templateFile: direct.templateFile, oids: { ...direct.oids, ...packaged.inputs } };
        const rendered: RenderedStack = {
          ...renderOne(
            snapshot,
            config,
            env,
            spec,
            parsed,
            inputs,
            options.stackNamePrefix ?? '',
            packaged,
            matchPattern,
          ),
          templateFiles: { root: direct.templateFile, nested: packaged.nestedFiles },
        };
        // What CloudFormation would refuse at create time is refused here: Rules always, the resource specification
        // when asked (plan asks only for the stacks it will change: from source, loading the specification takes a
        // second; the built CLI reads its small per-service index).
        await checkRules(snapshot, rendered);
        outcome.rendered.push(options.checkResources ? await checkAgainstSpec(snapshot, rendered) : rendered);
      } catch (err) {
        const error = await withLines(toGitOpsError(err), (path) => tree.readText(path), env.name);
        outcome.errors.push({ key, stack: spec.name, environment: env.name, error });
      }
    }
  }
  return outcome;
}

/**
 * The artifact location, asked of the store only when the template packages something: a stack without local files
 * needs no bucket, so one in a region the store has no bucket for (the installation bucket is regional) renders.
 */
function lazyLocation(locate: () => ArtifactLocation): ArtifactLocation {
  let located: ArtifactLocation | undefined;
  const at = (): ArtifactLocation => {
    located ??= locate();
    return located;
  };
  return {
    get bucket() {
      return at().bucket;
    },
    url: (key) => at().url(key),
  };
}

interface Inputs {
  readonly oids: Record<string, string>;
  /** The template's path in the tree, symlinks followed. */
  readonly templateFile: string;
}

/** Every file the stack's render reads, with its blob id: the manifest, gitops.yaml, the template and links to it. */
async function collectInputs(tree: RepoTree, config: RepoConfig, spec: StackSpec): Promise<Inputs> {
  const oids: Record<string, string> = {};
  const add = (path: string): void => {
    const entry = tree.get(path);
    if (entry) oids[path] = entry.oid;
  };
  if (config.mode === 'gitops.yaml') add(GITOPS_FILE);
  add(spec.declaredIn);
  const field = spec.declaredIn === GITOPS_FILE ? 'template' : 'template-file-path';
  const resolved = await tree.resolve(spec.templatePath, { file: spec.declaredIn, field });
  for (const entry of resolved.via) oids[entry.path] = entry.oid;
  return { oids, templateFile: resolved.entry.path };
}

/**
 * Whether a stack's inputs are what its last render read: every file it read then has the same blob id now, and the
 * files the stack names directly are among them. Files found by reading others (nested templates) are only known
 * from the last render; they can only differ if a file that named them differs, which this sees.
 */
function inputsUnchanged(
  tree: RepoTree,
  previous: Readonly<Record<string, string>>,
  direct: Readonly<Record<string, string>>,
): boolean {
  return (
    Object.entries(direct).every(([path, oid]) => previous[path] === oid) &&
    Object.entries(previous).every(([path, oid]) =>
      // `dir/`: a packaged folder, compared by its listing (a file added to it counts).
      path.endsWith('/') ? directoryDigest(tree, path.slice(0, -1)) === oid : tree.get(path)?.oid === oid,
    )
  );
}

function renderOne(
  snapshot: RepoSnapshot,
  config: RepoConfig,
  env: EnvironmentSpec,
  spec: StackSpec,
  template: CfnTemplate,
  inputs: Inputs,
  stackNamePrefix: string,
  packaged: PackagedStack,
  matchPattern: PatternMatcher | undefined,
): RenderedStack {
  const override = spec.overrides[env.name] ?? {};
  const configFile = config.mode === 'gitops.yaml' ? GITOPS_FILE : spec.declaredIn;

  const parameterLayers = [
    { file: spec.declaredIn, values: spec.parameters },
    // Environment-wide values only reach the stacks whose template declares them.
    { file: configFile, values: env.parameters, onlyDeclared: true },
    { file: configFile, values: override.parameters ?? {} },
  ];
  const tagLayers = [
    { file: configFile, values: env.tags },
    { file: spec.declaredIn, values: spec.tags },
    { file: configFile, values: override.tags ?? {} },
  ];
  assertNoReservedTags(tagLayers);
  // Before anything else: a secret written in Git is a finding even when the value would be refused anyway.
  const types = (name: string) => template.Parameters?.[name]?.Type;
  assertNoPlaintextSecrets(
    [
      ...parameterLayers.flatMap((l) => scanned('parameter', l.file, l.values, types)),
      ...tagLayers.flatMap((l) => scanned('tag', l.file, l.values)),
      ...templateLiterals(template, inputs.templateFile),
    ],
    spec.notSecrets,
  );

  const dynamicReferences = countDynamicReferences(template);
  if (dynamicReferences > MAX_DYNAMIC_REFERENCES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${inputs.templateFile}: ${dynamicReferences} dynamic references ({{resolve:...}}); CloudFormation allows at most ${MAX_DYNAMIC_REFERENCES} per template`,
      { file: inputs.templateFile },
    );
  }

  const resolved = resolveParameters(packaged.template, parameterLayers, {
    templateFile: inputs.templateFile,
    dependsOn: spec.dependsOn,
    ...(matchPattern ? { matchPattern } : {}),
  });
  // The repository the stack belongs to, last so no layer of the repository can set it (see policy/ownership.ts).
  const { tags } = mergeTags([...tagLayers, { file: 'the installation', values: { [REPOSITORY_TAG]: snapshot.repo } }]);
  const capabilities = mergeCapabilities(
    inferCapabilities(resolved.template),
    ...Object.values(packaged.nestedTemplates).map((t) => inferCapabilities(t)),
    env.capabilities ?? [],
    spec.capabilities ?? [],
    override.capabilities ?? [],
  );
  const stackName = stackNameFor(spec, env, override.stackName, config, stackNamePrefix);
  const region = override.region ?? env.region;

  const sent = {
    stackName,
    region,
    role: env.role,
    serviceRole: spec.serviceRole,
    template: resolved.template,
    parameters: resolved.parameters,
    tags,
    capabilities,
    outputParameters: resolved.outputParameters,
  };
  return {
    key: stackKey(env.name, spec.name),
    stack: spec.name,
    environment: env.name,
    stackName,
    region,
    ...(env.role ? { role: env.role } : {}),
    ...(env.externalId ? { externalId: env.externalId } : {}),
    ...(spec.serviceRole ? { serviceRole: spec.serviceRole } : {}),
    template: resolved.template,
    parameters: resolved.parameters,
    tags,
    capabilities,
    dependsOn: spec.dependsOn.map((dep) => stackKey(env.name, dep)),
    outputParameters: resolved.outputParameters,
    syncPolicy: env.syncPolicy,
    alarms: spec.alarms,
    recreateOnRollbackComplete: spec.recreateOnRollbackComplete,
    inputs: inputs.oids,
    hash: sha256Hex(canonicalJson(sent)),
    revision: snapshot.commit.sha,
    commit: snapshot.commit,
    repo: snapshot.repo,
    branch: snapshot.branch,
    ...(config.notifications.length ? { notifications: config.notifications } : {}),
    ...(packaged.artifacts.length ? { artifacts: packaged.artifacts } : {}),
    ...(Object.keys(packaged.nestedTemplates).length ? { nestedTemplates: packaged.nestedTemplates } : {}),
  };
}

/** `lambda-gitops:` tags are the installation's (the owning repository): a repository cannot set or override them. */
function assertNoReservedTags(layers: readonly { file: string; values: Readonly<Record<string, string>> }[]): void {
  for (const layer of layers) {
    const key = Object.keys(layer.values).find((k) => k.toLowerCase().startsWith(RESERVED_TAG_PREFIX));
    if (key !== undefined) {
      throw new ConfigError(
        Reason.InvalidConfig,
        `${layer.file}: tags.${key}: the "${RESERVED_TAG_PREFIX}" prefix is reserved for lambda-gitops`,
        { file: layer.file, field: `tags.${key}` },
      );
    }
  }
}

/** Template `Rules` on the rendered parameter values: a failing assertion refuses the stack, naming the rule. */
async function checkRules(snapshot: Pick<RepoSnapshot, 'readFile'>, rendered: RenderedStack): Promise<void> {
  const violations = evaluateRules(rendered.template, parameterValuesForRules(rendered.template, rendered.parameters), {
    region: rendered.region,
    stackName: rendered.stackName,
  });
  const file = rendered.templateFiles?.root ?? rendered.stack;
  if (violations.length === 0) return;
  const problems: Problem[] = [];
  for (const v of violations) {
    const path = ['Rules', v.rule, 'Assertions', v.assertion];
    problems.push({ file, line: await lineOf(snapshot, file, path), path, message: `Rules.${v.rule}: ${v.message}` });
  }
  throw refusal(problems);
}

/**
 * The stack's template and its nested templates against the CloudFormation resource specification. Throws one
 * ConfigError naming file, line, resource and property; returns the stack with what was not expanded locally.
 */
export async function checkAgainstSpec(
  snapshot: Pick<RepoSnapshot, 'readFile'>,
  rendered: RenderedStack,
  memo?: SpecCheckMemo,
): Promise<RenderedStack> {
  const root = rendered.templateFiles?.root ?? rendered.stack;
  const templates: [string, CfnTemplate][] = [
    [root, rendered.template],
    ...Object.entries(rendered.nestedTemplates ?? {}).map(
      ([path, t]) => [rendered.templateFiles?.nested[path] ?? root, t] as [string, CfnTemplate],
    ),
  ];
  // Templates that passed before pass again: the check is a pure function of them (and of the specification).
  const key = sha256Hex(canonicalJson(['spec-check-1', templates.map(([, t]) => t)]));
  if (memo && (await memo.has(key))) {
    const unexpanded = [...new Set(templates.flatMap(([, t]) => unexpandedOf(t)))];
    return unexpanded.length ? { ...rendered, unexpanded } : rendered;
  }
  const problems: Problem[] = [];
  const unexpanded = new Set<string>();
  for (const [file, template] of templates) {
    const check = await checkResourceSpec(template);
    for (const u of check.unexpanded) unexpanded.add(u);
    for (const p of check.problems) {
      problems.push({ file, path: p.path, message: `${p.path.slice(0, 2).join('.')}: ${p.message}` });
    }
  }
  if (problems.length) {
    for (const p of problems.slice(0, MAX_LISTED_PROBLEMS)) p.line = await lineOf(snapshot, p.file, p.path);
    throw refusal(problems);
  }
  await memo?.add(key);
  return unexpanded.size ? { ...rendered, unexpanded: [...unexpanded] } : rendered;
}

/** Remembers templates that passed the specification check, so a later process need not load it for them. */
export interface SpecCheckMemo {
  has(key: string): Promise<boolean>;
  add(key: string): Promise<void>;
}

interface Problem {
  readonly file: string;
  line?: number | undefined;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** At most this many problems are listed in one error. */
const MAX_LISTED_PROBLEMS = 10;

function refusal(problems: readonly Problem[]): ConfigError {
  const lines = problems
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`… and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  const first = problems[0]!;
  return new ConfigError(Reason.InvalidTemplate, `CloudFormation would refuse this template:\n${lines.join('\n')}`, {
    file: first.file,
    field: first.path.join('.'),
    ...(first.line ? { line: first.line } : {}),
  });
}

async function lineOf(
  snapshot: Pick<RepoSnapshot, 'readFile'>,
  file: string,
  path: readonly (string | number)[],
): Promise<number | undefined> {
  try {
    return templateLineOf(new TextDecoder().decode(await snapshot.readFile(file)), file)(path);
  } catch {
    return undefined;
  }
}

/** Values the user wrote in plain text; references (`ssm:`, `output:`) carry no secret. */
function scanned(
  kind: ScannedValue['kind'],
  file: string,
  values: Readonly<Record<string, string>>,
  typeOf?: (name: string) => string | undefined,
): ScannedValue[] {
  return Object.entries(values)
    .filter(([, value]) => !/^(?:ssm|output):/.test(value))
    .map(([name, value]) => {
      const type = typeOf?.(name);
      return { kind, name, value, file, ...(type !== undefined ? { type } : {}) };
    });
}

function stackNameFor(
  spec: StackSpec,
  env: EnvironmentSpec,
  override: string | undefined,
  config: RepoConfig,
  prefix: string,
): string {
  const pattern = override ?? spec.stackNamePattern ?? (config.mode === 'gitops.yaml' ? '{stack}-{env}' : '{stack}');
  const named = pattern.replaceAll('{stack}', spec.name).replaceAll('{env}', env.name);
  const name = named.startsWith(prefix) ? named : `${prefix}${named}`;
  const file = override !== undefined || config.mode === 'gitops.yaml' ? GITOPS_FILE : spec.declaredIn;
  if (!STACK_NAME_PATTERN.test(name) || name.length > MAX_STACK_NAME) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `${file}: stackName: "${name}" is not a valid CloudFormation stack name (a letter, then letters, digits and "-", at most ${MAX_STACK_NAME} characters)`,
      { file, field: 'stackName' },
    );
  }
  return name;
}

function countDynamicReferences(template: CfnTemplate): number {
  return JSON.stringify(template).split('{{resolve:').length - 1;
}

function checkSelection(kind: string, selected: readonly string[] | undefined, valid: readonly string[]): void {
  const unknown = (selected ?? []).filter((s) => !valid.includes(s));
  if (unknown.length > 0) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `unknown ${kind}${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}; valid: ${valid.join(', ') || 'none'}`,
      { field: kind === 'stack' ? '--stack' : '--env' },
    );
  }
}
