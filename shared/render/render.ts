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
import type { RepoSnapshot } from '../ports.ts';
import { inferCapabilities } from './capabilities.ts';
import { parseTemplate } from './cfn-template.ts';
import { canonicalJson, sha256Hex } from './hash.ts';
import { withLines } from './locate.ts';
import { resolveParameters } from './parameters.ts';
import { assertNoPlaintextSecrets, type ScannedValue } from './secrets-scan.ts';
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
  const templates = new Map<string, Promise<CfnTemplate>>();
  const outcome: RenderOutcome = { rendered: [], unchanged: [], errors: [] };

  for (const env of config.environments) {
    if (options.environments && !options.environments.includes(env.name)) continue;
    if (!options.ignoreBranch && env.branch !== undefined && env.branch !== snapshot.branch) continue;
    for (const spec of config.stacks) {
      if (options.stacks && !options.stacks.includes(spec.name)) continue;
      if (!spec.environments.includes(env.name)) continue;
      const key = stackKey(env.name, spec.name);
      try {
        const inputs = await collectInputs(tree, config, spec);
        const previous = options.previous?.(key);
        if (previous && sameInputs(previous.inputs, inputs.oids)) {
          outcome.unchanged.push(key);
          continue;
        }
        let template = templates.get(inputs.templateFile);
        if (!template) {
          template = tree.readText(inputs.templateFile).then((text) => parseTemplate(text, inputs.templateFile));
          templates.set(inputs.templateFile, template);
        }
        outcome.rendered.push(
          renderOne(snapshot, config, env, spec, await template, inputs, options.stackNamePrefix ?? ''),
        );
      } catch (err) {
        const error = await withLines(toGitOpsError(err), (path) => tree.readText(path), env.name);
        outcome.errors.push({ key, stack: spec.name, environment: env.name, error });
      }
    }
  }
  return outcome;
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

function sameInputs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

function renderOne(
  snapshot: RepoSnapshot,
  config: RepoConfig,
  env: EnvironmentSpec,
  spec: StackSpec,
  template: CfnTemplate,
  inputs: Inputs,
  stackNamePrefix: string,
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
  // Before anything else: a secret written in Git is a finding even when the value would be refused anyway.
  assertNoPlaintextSecrets([
    ...parameterLayers.flatMap((l) => scanned('parameter', l.file, l.values)),
    ...tagLayers.flatMap((l) => scanned('tag', l.file, l.values)),
  ]);

  const dynamicReferences = countDynamicReferences(template);
  if (dynamicReferences > MAX_DYNAMIC_REFERENCES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${inputs.templateFile}: ${dynamicReferences} dynamic references ({{resolve:...}}); CloudFormation allows at most ${MAX_DYNAMIC_REFERENCES} per template`,
      { file: inputs.templateFile },
    );
  }

  const resolved = resolveParameters(template, parameterLayers, {
    templateFile: inputs.templateFile,
    dependsOn: spec.dependsOn,
  });
  const { tags } = mergeTags(tagLayers);
  const capabilities = inferCapabilities(resolved.template);
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
  };
}

/** Values the user wrote in plain text; references (`ssm:`, `output:`) carry no secret. */
function scanned(kind: ScannedValue['kind'], file: string, values: Readonly<Record<string, string>>): ScannedValue[] {
  return Object.entries(values)
    .filter(([, value]) => !/^(?:ssm|output):/.test(value))
    .map(([name, value]) => ({ kind, name, value, file }));
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
