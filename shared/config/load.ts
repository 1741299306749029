/**
 * Reads the repository's desired state from one commit: the root `gitops.yaml` when there is one, otherwise every
 * CloudFormation Git sync deployment file (zero configuration). Everything is validated here, before any template
 * is read, and every error names the file, line and field to fix.
 */
import { ConfigError, Reason } from '../errors.ts';
import type { EnvironmentSpec, NotificationRoute, RepoConfig, StackSpec, SyncPolicy } from '../model.ts';
import type { RepoSnapshot } from '../ports.ts';
import { loadYaml, type YamlSource } from '../render/cfn-template.ts';
import { loadPatternMatcher } from '../render/linear-pattern.ts';
import { GITOPS_FILE } from './gitops-file.ts';
import { compileGlob } from './glob.ts';
import { fieldPath, formatProblem, type Problem, problemsError, problemsFromZod } from './issues.ts';
import { normalizeRelativePath, RepoTree } from './repo-tree.ts';
import {
  type DeploymentFile,
  deploymentFileSchema,
  type GitopsFile,
  gitopsFileSchema,
  NAME_PATTERN,
} from './schema.ts';

export interface LoadOptions {
  /** Region for environments that name none (the installation's region, or the CLI's). */
  readonly defaultRegion: string;
  /** Render only this Git sync deployment file, ignoring `gitops.yaml` (CLI `--deployment-file`). */
  readonly deploymentFile?: string;
}

export { GITOPS_FILE };
export const DEFAULT_ENVIRONMENT = 'default';
export const DEFAULT_STACK_NAME = '{stack}-{env}';
const DEFAULT_SYNC_POLICY: SyncPolicy = { automated: true, prune: false, selfHeal: false };
/** Files bigger than this are not deployment files; skipping them keeps discovery cheap in a large monorepo. */
const MAX_MANIFEST_BYTES = 1_048_576;
const DEPLOYMENT_FILE_EXT = /\.(?:ya?ml|json)$/i;
const DEPLOYMENT_FILE_KEY = 'template-file-path';

export async function loadRepoConfig(snapshot: RepoSnapshot, options: LoadOptions): Promise<RepoConfig> {
  const tree = await RepoTree.of(snapshot);
  if (options.deploymentFile !== undefined) {
    const path = normalizeRelativePath(options.deploymentFile, { file: '--deployment-file', field: 'path' });
    const { entry } = await tree.resolve(path, { file: '--deployment-file', field: 'path' });
    const file = await readDeploymentFile(tree, path, entry.path);
    return zeroConfig([stackFromDeploymentFile(file)], options);
  }
  if (tree.get(GITOPS_FILE)) return loadGitopsFile(tree, options);
  if (tree.get('gitops.yml')) {
    throw new ConfigError(Reason.InvalidConfig, 'gitops.yml: name the file gitops.yaml', { file: 'gitops.yml' });
  }
  return zeroConfig(await discoverDeploymentFiles(tree), options);
}

// ------------------------------------------------------------------ deployment files

interface LoadedDeploymentFile {
  readonly path: string;
  readonly content: DeploymentFile;
  readonly templateLine?: number;
}

/** The stack name a deployment file gives: its file name without extension. */
export function stackNameOfFile(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.[^.]+$/, '');
}

async function readDeploymentFile(tree: RepoTree, path: string, readFrom = path): Promise<LoadedDeploymentFile> {
  const { value, source } = loadYaml(await tree.readText(readFrom), path);
  return parseDeploymentFile(path, value, source);
}

function parseDeploymentFile(path: string, value: unknown, source: YamlSource): LoadedDeploymentFile {
  keepScalarText(source, value, [['parameters'], ['tags']]);
  notATemplate(path, value);
  const parsed = deploymentFileSchema.safeParse(value ?? {});
  if (!parsed.success) throw problemsError(path, problemsFromZod(source, parsed.error.issues, deploymentFileSchema));
  const templateLine = source.lineOf(['template-file-path']);
  const templatePath = normalizeRelativePath(parsed.data['template-file-path'], {
    file: path,
    field: 'template-file-path',
    ...(templateLine ? { line: templateLine } : {}),
  });
  return { path, content: { ...parsed.data, 'template-file-path': templatePath }, templateLine };
}

/** A CloudFormation template given where a deployment file belongs (`--deployment-file templates/app.yaml`). */
function notATemplate(path: string, value: unknown): void {
  if (!value || typeof value !== 'object' || Array.isArray(value) || 'template-file-path' in value) return;
  if (!('Resources' in value) && !('AWSTemplateFormatVersion' in value)) return;
  throw new ConfigError(
    Reason.InvalidConfig,
    'this is a CloudFormation template, not a deployment file: a deployment file names its template with ' +
      `"template-file-path: ${path}" and may add parameters and tags`,
    { file: path, line: 1, field: 'template-file-path' },
  );
}

function stackFromDeploymentFile(file: LoadedDeploymentFile, name = stackNameOfFile(file.path)): StackSpec {
  checkName(name, file.path, 'name');
  return {
    name,
    declaredIn: file.path,
    templatePath: file.content['template-file-path'],
    parameters: file.content.parameters ?? {},
    tags: file.content.tags ?? {},
    dependsOn: [],
    environments: [DEFAULT_ENVIRONMENT],
    overrides: {},
    alarms: [],
    recreateOnRollbackComplete: true,
  };
}

/** Every .yaml/.yml/.json file whose top level has `template-file-path` is a stack named after the file. */
async function discoverDeploymentFiles(tree: RepoTree): Promise<StackSpec[]> {
  const stacks: StackSpec[] = [];
  const byName = new Map<string, string>();
  for (const entry of tree.files()) {
    if (!DEPLOYMENT_FILE_EXT.test(entry.path)) continue;
    const bytes = await tree.snapshot.readFile(entry.path);
    if (bytes.byteLength > MAX_MANIFEST_BYTES) continue;
    const text = new TextDecoder().decode(bytes);
    if (!mentionsDeploymentKey(text)) continue;
    const { value, source } = loadYaml(text, entry.path);
    if (!isRecord(value) || !('template-file-path' in value)) continue;
    const file = parseDeploymentFile(entry.path, value, source);
    const stack = stackFromDeploymentFile(file);
    const other = byName.get(stack.name);
    if (other) {
      throw new ConfigError(
        Reason.DuplicateStack,
        `${entry.path}: stack "${stack.name}" is also declared by ${other}; rename one of the files`,
        { file: entry.path, field: 'name' },
      );
    }
    byName.set(stack.name, entry.path);
    stacks.push(stack);
  }
  return stacks;
}

/**
 * A cheap textual test before parsing: only a file with `template-file-path` as a key (at a line start, or after `{`
 * or `,` in flow style) can be a deployment file. Linear in the file's size: every occurrence of the key is found
 * with indexOf and its neighbourhood is scanned once. (The regular expression this replaces,
 * `(?:^|[\n{,]\s*)["']?template-file-path…`, retried `\s*` from every blank line: quadratic, 300 s for a blank 1 MB
 * `.yaml`.)
 */
export function mentionsDeploymentKey(text: string): boolean {
  for (let at = text.indexOf(DEPLOYMENT_FILE_KEY); at !== -1; at = text.indexOf(DEPLOYMENT_FILE_KEY, at + 1)) {
    let before = at - 1;
    if (text[before] === '"' || text[before] === "'") before--;
    // Whitespace in front of two occurrences never overlaps (the key lies between), so these scans stay linear.
    let skipped = false;
    let newline = false;
    while (before >= 0 && isBlank(text.charCodeAt(before))) {
      if (text[before] === '\n') newline = true;
      skipped = true;
      before--;
    }
    const keyStart = newline || text[before] === '{' || text[before] === ',' || (before < 0 && !skipped);
    if (!keyStart) continue;
    let after = at + DEPLOYMENT_FILE_KEY.length;
    if (text[after] === '"' || text[after] === "'") after++;
    while (after < text.length && isBlank(text.charCodeAt(after))) after++;
    if (text[after] === ':') return true;
  }
  return false;
}

/** Space, tab, line feed, vertical tab, form feed, carriage return. */
const isBlank = (code: number): boolean => code === 32 || (code >= 9 && code <= 13);

function zeroConfig(stacks: StackSpec[], options: LoadOptions): RepoConfig {
  return {
    mode: 'deployment-files',
    environments: [
      {
        name: DEFAULT_ENVIRONMENT,
        region: options.defaultRegion,
        regionDefaulted: true,
        syncPolicy: DEFAULT_SYNC_POLICY,
        parameters: {},
        tags: {},
      },
    ],
    stacks: stacks.map((s) => ({ ...s, stackNamePattern: '{stack}' })),
    notifications: [],
  };
}

// ------------------------------------------------------------------ gitops.yaml

/** A stack with where it was declared in gitops.yaml, for line numbers in later checks. */
interface DeclaredStack {
  readonly spec: StackSpec;
  readonly index: number;
}

async function loadGitopsFile(tree: RepoTree, options: LoadOptions): Promise<RepoConfig> {
  const file = GITOPS_FILE;
  const { value, source } = loadYaml(await tree.readText(file), file);
  const mapPaths = collectMapPaths(value);
  keepScalarText(source, value, mapPaths);
  const parsed = gitopsFileSchema.safeParse(value ?? {});
  if (!parsed.success) throw problemsError(file, problemsFromZod(source, parsed.error.issues, gitopsFileSchema));
  const cfg = parsed.data;
  const problems: Problem[] = [];
  const at = (path: PropertyKey[], message: string, keyLine = false): void => {
    const last = path[path.length - 1];
    const line = keyLine && typeof last === 'string' ? source.lineOfKey(path.slice(0, -1), last) : source.lineOf(path);
    problems.push({ line, field: fieldPath(path), message });
  };

  const environments = buildEnvironments(cfg, options, at);
  const envNames = environments.map((e) => e.name);
  const declared: DeclaredStack[] = [];
  for (const [index, entry] of cfg.stacks.entries()) {
    for (const spec of await stacksOfEntry(tree, source, cfg, entry, index, envNames, at)) {
      declared.push({ spec, index });
    }
  }
  checkUniqueStacks(declared, source);
  if (problems.length > 0) throw problemsError(file, problems);
  checkDependencies(declared, source);

  const notifications: NotificationRoute[] = (cfg.notifications ?? []).map((n, i) => {
    for (const [j, env] of (n.environments ?? []).entries()) {
      if (!envNames.includes(env))
        at(['notifications', i, 'environments', j], unknownName('environment', env, envNames));
    }
    return {
      events: n.events,
      ...(n.severity ? { severity: n.severity } : {}),
      ...(n.environments ? { environments: n.environments } : {}),
    };
  });
  if (problems.length > 0) throw problemsError(file, problems);

  return {
    mode: 'gitops.yaml',
    environments,
    stacks: declared.map((d) => d.spec),
    notifications,
    ...(cfg.signing
      ? {
          signing: {
            required: cfg.signing.required ?? true,
            keys: cfg.signing.keys ?? [],
            ssmKeys: cfg.signing.ssmKeys ?? [],
          },
        }
      : {}),
  };
}

type At = (path: PropertyKey[], message: string, keyLine?: boolean) => void;

function buildEnvironments(cfg: GitopsFile, options: LoadOptions, at: At): EnvironmentSpec[] {
  const defaults = cfg.defaults ?? {};
  const seen = new Set<string>();
  return cfg.environments.map((env, i) => {
    if (seen.has(env.name)) at(['environments', i, 'name'], `environment "${env.name}" is declared twice`);
    seen.add(env.name);
    return {
      name: env.name,
      region: env.region ?? defaults.region ?? options.defaultRegion,
      ...(env.region === undefined && defaults.region === undefined ? { regionDefaulted: true } : {}),
      ...(env.role ? { role: env.role } : {}),
      ...(env.externalId ? { externalId: env.externalId } : {}),
      ...(env.branch ? { branch: env.branch } : {}),
      syncPolicy: { ...DEFAULT_SYNC_POLICY, ...defaults.syncPolicy, ...env.syncPolicy },
      parameters: { ...defaults.parameters, ...env.parameters },
      tags: { ...defaults.tags, ...env.tags },
      ...(env.capabilities?.length ? { capabilities: env.capabilities } : {}),
    };
  });
}

async function stacksOfEntry(
  tree: RepoTree,
  source: YamlSource,
  cfg: GitopsFile,
  entry: GitopsFile['stacks'][number],
  index: number,
  envNames: readonly string[],
  at: At,
): Promise<StackSpec[]> {
  const base: PropertyKey[] = ['stacks', index];
  const origin = (field: string) => {
    const line = source.lineOf([...base, field]);
    return { file: GITOPS_FILE, field: fieldPath([...base, field]), ...(line ? { line } : {}) };
  };
  const environments = entry.environments ?? [...envNames];
  for (const [j, env] of environments.entries()) {
    if (!envNames.includes(env)) at([...base, 'environments', j], unknownName('environment', env, envNames));
  }
  for (const env of Object.keys(entry.overrides ?? {})) {
    if (!envNames.includes(env)) at([...base, 'overrides', env], unknownName('environment', env, envNames), true);
    else if (!environments.includes(env)) {
      at([...base, 'overrides', env], `the stack is not deployed to environment "${env}"`, true);
    }
  }
  const common = {
    dependsOn: entry.dependsOn ?? [],
    environments,
    overrides: entry.overrides ?? {},
    stackNamePattern: entry.stackName ?? cfg.defaults?.stackName ?? DEFAULT_STACK_NAME,
    alarms: entry.alarms ?? [],
    recreateOnRollbackComplete: entry.recreateOnRollbackComplete ?? true,
    ...(entry.serviceRole ? { serviceRole: entry.serviceRole } : {}),
    ...(entry.notSecrets ? { notSecrets: entry.notSecrets } : {}),
    ...(entry.capabilities?.length ? { capabilities: entry.capabilities } : {}),
  };

  if (entry.template !== undefined) {
    return [
      {
        name: entry.name!,
        declaredIn: GITOPS_FILE,
        templatePath: normalizeRelativePath(entry.template, origin('template')),
        parameters: entry.parameters ?? {},
        tags: entry.tags ?? {},
        ...common,
      },
    ];
  }

  let files: string[];
  if (entry.deploymentFile !== undefined) {
    const path = normalizeRelativePath(entry.deploymentFile, origin('deploymentFile'));
    const resolved = await tree.resolve(path, origin('deploymentFile'));
    files = [resolved.entry.path === path ? path : `${path}\0${resolved.entry.path}`];
  } else {
    const glob = entry.deploymentFiles!;
    normalizeRelativePath(glob, origin('deploymentFiles'));
    const matches = compileGlob(glob, await loadPatternMatcher(), origin('deploymentFiles'));
    files = tree
      .files()
      .map((e) => e.path)
      .filter((p) => matches(p) && p !== GITOPS_FILE);
    if (files.length === 0) at([...base, 'deploymentFiles'], `"${glob}" matches no file`);
  }
  const specs: StackSpec[] = [];
  for (const item of files) {
    // A symlinked deployment file is named after the link (what the user wrote) and read from its target.
    const [path, target] = item.split('\0') as [string, string | undefined];
    const file = await readDeploymentFile(tree, path, target ?? path);
    const spec = stackFromDeploymentFile(file, entry.name ?? stackNameOfFile(path));
    specs.push({
      ...spec,
      ...common,
      parameters: { ...spec.parameters, ...entry.parameters },
      tags: { ...spec.tags, ...entry.tags },
    });
  }
  return specs;
}

function checkUniqueStacks(declared: readonly DeclaredStack[], source: YamlSource): void {
  const first = new Map<string, DeclaredStack>();
  for (const d of declared) {
    const other = first.get(d.spec.name);
    if (other) {
      const line = source.lineOf(['stacks', d.index]);
      const otherLine = source.lineOf(['stacks', other.index]);
      const from = (x: DeclaredStack, l?: number) =>
        x.spec.declaredIn === GITOPS_FILE ? `${GITOPS_FILE}:${l}` : `${x.spec.declaredIn} (${GITOPS_FILE}:${l})`;
      throw new ConfigError(
        Reason.DuplicateStack,
        `${GITOPS_FILE}:${line}: stacks[${d.index}]: stack "${d.spec.name}" is declared twice: by ${from(other, otherLine)} and by ${from(d, line)}`,
        { file: GITOPS_FILE, field: `stacks[${d.index}]`, ...(line ? { line } : {}) },
      );
    }
    first.set(d.spec.name, d);
  }
}

/** Unknown names, dependencies missing from an environment, and cycles. */
function checkDependencies(declared: readonly DeclaredStack[], source: YamlSource): void {
  const byName = new Map(declared.map((d) => [d.spec.name, d]));
  const names = [...byName.keys()];
  for (const d of declared) {
    for (const [j, dep] of d.spec.dependsOn.entries()) {
      const path = ['stacks', d.index, 'dependsOn', j];
      const target = byName.get(dep);
      const problem = !target
        ? unknownName('stack', dep, names)
        : d.spec.environments.find((env) => !target.spec.environments.includes(env)) !== undefined
          ? `stack "${dep}" is not deployed to environment "${d.spec.environments.find((env) => !target.spec.environments.includes(env))}" where "${d.spec.name}" is`
          : undefined;
      if (problem) {
        const line = source.lineOf(path);
        throw new ConfigError(
          Reason.UnknownDependency,
          formatProblem(GITOPS_FILE, { line, field: fieldPath(path), message: problem }),
          {
            file: GITOPS_FILE,
            field: fieldPath(path),
            ...(line ? { line } : {}),
          },
        );
      }
    }
  }
  const cycle = findCycle(declared.map((d) => d.spec));
  if (cycle) {
    const d = byName.get(cycle[0]!)!;
    const path = ['stacks', d.index, 'dependsOn'];
    const line = source.lineOf(path);
    throw new ConfigError(
      Reason.DependencyCycle,
      formatProblem(GITOPS_FILE, { line, field: fieldPath(path), message: `dependency cycle: ${cycle.join(' -> ')}` }),
      { file: GITOPS_FILE, field: fieldPath(path), ...(line ? { line } : {}) },
    );
  }
}

/** The first cycle found, as `[a, b, c, a]`, or undefined. Depth-first with colours. */
export function findCycle(stacks: readonly Pick<StackSpec, 'name' | 'dependsOn'>[]): string[] | undefined {
  const deps = new Map(stacks.map((s) => [s.name, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of deps.get(name) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of stacks) {
    const found = visit(s.name);
    if (found) return found;
  }
  return undefined;
}

// ------------------------------------------------------------------ helpers

function unknownName(kind: string, name: string, valid: readonly string[]): string {
  return `unknown ${kind} "${name}" (known: ${valid.length ? valid.join(', ') : 'none'})`;
}

function checkName(name: string, file: string, field: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `${file}: ${field}: stack name "${name}" must start with a letter or digit and use only letters, digits, ".", "_" and "-"`,
      { file, field },
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The paths of every parameters/tags map in a gitops.yaml value (defaults, environments, stacks, overrides). */
function collectMapPaths(value: unknown): PropertyKey[][] {
  const paths: PropertyKey[][] = [];
  if (!isRecord(value)) return paths;
  const add = (base: PropertyKey[]) => paths.push([...base, 'parameters'], [...base, 'tags']);
  add(['defaults']);
  for (const key of ['environments', 'stacks'] as const) {
    const list = value[key];
    if (!Array.isArray(list)) continue;
    list.forEach((item, i) => {
      add([key, i]);
      if (key === 'stacks' && isRecord(item) && isRecord(item['overrides'])) {
        for (const env of Object.keys(item['overrides'])) add([key, i, 'overrides', env]);
      }
    });
  }
  return paths;
}

/**
 * Parameter and tag values are text to CloudFormation, but YAML reads `1.10` as the number 1.1 and `0755` as 755.
 * For those maps, numbers and booleans take the text the author wrote.
 */
function keepScalarText(source: YamlSource, value: unknown, mapPaths: readonly PropertyKey[][]): void {
  for (const path of mapPaths) {
    let map: unknown = value;
    for (const key of path)
      map = isRecord(map) ? map[key as string] : Array.isArray(map) ? map[key as number] : undefined;
    if (!isRecord(map)) continue;
    for (const [key, v] of Object.entries(map)) {
      if (typeof v !== 'number' && typeof v !== 'boolean') continue;
      const node = source.doc.getIn([...path, key] as unknown[], true) as { source?: unknown } | undefined;
      if (node && typeof node.source === 'string') map[key] = node.source;
    }
  }
}
