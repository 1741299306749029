import { stringify } from 'yaml';
import { loadRepoConfig } from '../../shared/config/load.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { checkDrift, type DriftReport } from '../../shared/engine/drift.ts';
import { computePlan, hasChanges, hasErrors } from '../../shared/engine/plan.ts';
import { enforce } from '../../shared/engine/prepare.ts';
import { statusRows } from '../../shared/engine/status.ts';
import { sync } from '../../shared/engine/sync.ts';
import { ConfigError, type GitOpsError, Reason, toGitOpsError } from '../../shared/errors.ts';
import { consoleLogger } from '../../shared/log.ts';
import { narrowConfig, repositoryPolicy } from '../../shared/policy/check.ts';
import { readPolicyFile } from '../../shared/policy/load.ts';
import type { InstallationPolicy } from '../../shared/policy/schema.ts';
import type { Logger, StateStore } from '../../shared/ports.ts';
import { renderStacks } from '../../shared/render/render.ts';
import { localDeps } from '../../shared/runtime/local-deps.ts';
import { terminalSafe } from '../../shared/terminal-text.ts';
import { type CliOptions, parseCli } from './args.ts';
import {
  formatDrift,
  formatPlan,
  formatRendered,
  formatStatus,
  formatSync,
  planJson,
  type Style,
  syncJson,
} from './format.ts';
import { helpText } from './help.ts';
import { withProgress } from './progress.ts';

/** Runs one CLI invocation and returns the exit code. Errors never escape as stack traces unless --verbose. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let options: CliOptions | undefined;
  try {
    options = parseCli(argv);
    if (options.command === 'help' || options.command === 'version') {
      io.out(helpText(options));
      return 0;
    }
    return await run(options, io);
  } catch (err) {
    const error = toGitOpsError(err);
    io.err(`error: ${error.describe()}\n`);
    if (options?.verbose && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
    return 2;
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly color: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Print progress lines on stderr (a terminal is attached to it). */
  readonly progress?: boolean;
}

function processIo(): Io {
  return {
    // Output quotes repository text (file names, commit messages, template values): no terminal escapes.
    out: (t) => process.stdout.write(terminalSafe(t)),
    err: (t) => process.stderr.write(terminalSafe(t)),
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    env: process.env,
    progress: Boolean(process.stderr.isTTY),
  };
}

async function run(o: CliOptions, io: Io): Promise<number> {
  const style: Style = { color: io.color, ...(o.repo ? { approveCommand: approveCommand(o, o.repo) } : {}) };
  const logger = consoleLogger({ level: o.verbose ? 'debug' : 'warn' });
  switch (o.command) {
    case 'render':
      return render(o, io, logger);
    case 'plan': {
      if (o.base) return previewPlan(o, o.base, io, logger);
      const deps = await depsFor(o, io, logger);
      const plan = await computePlan(deps, selection(o));
      reportEntryErrors(plan.entries, io);
      io.out(
        o.output === 'json'
          ? `${JSON.stringify(planJson(plan), null, 2)}\n`
          : o.output === 'yaml'
            ? stringify(planJson(plan))
            : formatPlan(plan, style),
      );
      return hasErrors(plan) ? 2 : hasChanges(plan) ? 1 : 0;
    }
    case 'sync': {
      const deps = await depsFor(o, io, logger);
      if (o.dryRun) {
        const plan = await computePlan(deps, selection(o));
        reportEntryErrors(plan.entries, io);
        io.out(o.output === 'json' ? `${JSON.stringify(planJson(plan), null, 2)}\n` : formatPlan(plan, style));
        return hasErrors(plan) ? 2 : 0;
      }
      const report = await sync(deps, { ...selection(o), ...(o.approve ? { approve: true } : {}) });
      reportEntryErrors(report.plan.entries, io);
      io.out(o.output === 'json' ? `${JSON.stringify(syncJson(report), null, 2)}\n` : formatSync(report, style));
      return report.failed.length ? 2 : 0;
    }
    case 'status': {
      if (o.web) {
        const { serveStatusPage } = await import('../../shared/runtime/status-server.ts');
        const state = await stateFor(o, io);
        await serveStatusPage({ state, port: o.port, logger, out: (t: string) => io.out(t) });
        return 0;
      }
      const state = await stateFor(o, io);
      const rows = statusRows(await state.listStacks());
      io.out(
        o.output === 'json'
          ? `${JSON.stringify(rows, null, 2)}\n`
          : o.output === 'yaml'
            ? stringify(rows)
            : formatStatus(rows, style),
      );
      return 0;
    }
    case 'drift': {
      const deps = await depsFor(o, io, logger);
      const report: DriftReport = await checkDrift(deps, { ...selection(o), resources: o.resources });
      io.out(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatDrift(report, style));
      for (const e of report.errors) io.err(`error: ${e.key}: ${e.message}\n`);
      return report.errors.length ? 2 : report.outOfSync.length || report.drifted.length ? 1 : 0;
    }
    case 'dev': {
      const { startDevRuntime } = await import('../../shared/runtime/dev.ts');
      const runtime = await startDevRuntime({
        repo: o.repo ?? '.',
        stateDir: o.state,
        port: o.port,
        intervalMs: o.interval,
        demo: o.demo,
        logger: consoleLogger({ level: o.verbose ? 'debug' : 'info' }),
        color: io.color,
        out: (t) => io.out(t),
        env: io.env,
        ...(o.region ? { defaultRegion: o.region } : {}),
        ...policyOption(o, io),
      });
      await runtime.closed;
      return 0;
    }
  }
  throw new ConfigError(Reason.InvalidConfig, `unknown command "${o.command}"`);
}

function selection(o: CliOptions) {
  return {
    ...(o.ref ? { ref: o.ref } : {}),
    environments: o.env,
    stacks: o.stack,
    ...(o.deploymentFile ? { deploymentFile: o.deploymentFile } : {}),
  };
}

function requireRepo(o: CliOptions): string {
  if (!o.repo) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `gitops ${o.command} needs a <repo>: a local path or an http(s) Git URL`,
      {
        field: '<repo>',
      },
    );
  }
  return o.repo;
}

async function depsFor(o: CliOptions, io: Io, logger: Logger): Promise<EngineDeps> {
  const deps = await targetDeps(o, io, logger);
  return io.progress ? withProgress(deps, (line) => io.err(`${line}\n`)) : deps;
}

async function targetDeps(o: CliOptions, io: Io, logger: Logger): Promise<EngineDeps> {
  const repo = requireRepo(o);
  if (o.target === 'aws') {
    // Loaded only for --target aws: the local loop never pays for the AWS SDK.
    const { awsDepsFor } = await import('./target-aws.ts');
    return awsDepsFor(o, repo, logger, io.env, policyOption(o, io).policy);
  }
  return localDeps({
    ...policyOption(o, io),
    repo,
    stateDir: o.state,
    logger,
    color: Boolean(io.color),
    ...(io.env.GITOPS_TRUSTED_KEYS_FILE ? { trustedKeysFile: io.env.GITOPS_TRUSTED_KEYS_FILE } : {}),
    ...(o.region ? { defaultRegion: o.region } : {}),
  });
}

/** `--policy FILE`, else the file named by `GITOPS_POLICY`; none: the commit decides (the single-repository loop). */
function policyOption(o: CliOptions, io: Io): { policy?: InstallationPolicy } {
  const file = o.policy ?? io.env.GITOPS_POLICY;
  return file ? { policy: readPolicyFile(file) } : {};
}

async function stateFor(o: CliOptions, io: Io): Promise<StateStore> {
  if (o.target === 'aws') {
    const { awsStateFor } = await import('./target-aws.ts');
    return awsStateFor(o, io.env);
  }
  const { FolderStateStore } = await import('../../shared/adapters/local/index.ts');
  return new FolderStateStore(o.state);
}

/** `render` needs no state store: it shows the whole desired state, not what changed. */
async function render(o: CliOptions, io: Io, logger: Logger): Promise<number> {
  const deps = localDeps({ repo: requireRepo(o), stateDir: o.state, logger, console: false });
  const snapshot = await deps.source.fetch(o.ref ? { ref: o.ref } : {});
  const config = await loadRepoConfig(snapshot, {
    defaultRegion: o.region ?? deps.defaultRegion,
    ...(o.deploymentFile ? { deploymentFile: o.deploymentFile } : {}),
  });
  // With a policy, render shows what the installation would deploy: its branches, roles and prefix, its refusals.
  const { policy } = policyOption(o, io);
  const scoped = policy ? repositoryPolicy(policy, snapshot.repo) : undefined;
  const narrowed = scoped ? narrowConfig(config, scoped) : undefined;
  const rendered = await renderStacks(snapshot, narrowed?.config ?? config, {
    ...(o.env.length ? { environments: [...o.env] } : {}),
    ...(o.stack.length ? { stacks: [...o.stack] } : {}),
    ...(scoped?.policy.stackNamePrefix ? { stackNamePrefix: scoped.policy.stackNamePrefix } : {}),
    checkResources: true,
  });
  const outcome = scoped
    ? await enforce(rendered, {
        snapshot,
        config: narrowed?.config ?? config,
        states: new Map(),
        scoped,
        ...(narrowed ? { violations: narrowed.violations } : {}),
      })
    : rendered;
  for (const failure of outcome.errors) io.err(`error: ${failure.key}: ${failure.error.describe()}\n`);
  io.out(formatRendered(outcome.rendered, o.output === 'markdown' ? 'human' : o.output));
  return outcome.errors.length ? 2 : 0;
}

/**
 * `gitops plan <repo> --ref <head> --base <branch>`: the pull-request preview, as any CI can run it. Exit 0 nothing
 * would change, 1 something would, 2 the head cannot be rendered (or the base has no environment bound to it).
 */
async function previewPlan(o: CliOptions, base: string, io: Io, logger: Logger): Promise<number> {
  const { computePreview } = await import('../../shared/preview/compute.ts');
  const { previewMarkdown } = await import('../../shared/preview/markdown.ts');
  const { previewHasChanges, previewHasFailures } = await import('../../shared/preview/types.ts');
  const { formatPreview } = await import('../../shared/preview/text.ts');
  const deps = await depsFor(o, io, logger);
  const outcome = await computePreview(deps, { baseBranch: base, headRef: o.ref ?? base });
  if (outcome.kind === 'not-bound') {
    io.err(`error: ${outcome.reason}: nothing to preview\n`);
    return 2;
  }
  const preview = outcome.preview;
  io.out(
    o.output === 'markdown'
      ? previewMarkdown(preview)
      : o.output === 'json'
        ? `${JSON.stringify(preview, null, 2)}\n`
        : o.output === 'yaml'
          ? stringify(preview)
          : formatPreview(preview),
  );
  return previewHasFailures(preview) ? 2 : previewHasChanges(preview) ? 1 : 0;
}

function reportEntryErrors(entries: readonly { key: string; error?: GitOpsError }[], io: Io) {
  for (const e of entries) if (e.error) io.err(`error: ${e.key}: ${e.error.describe()}\n`);
}

/** The same sync with --approve, for stacks that wait for approval: what the plan and sync output tell people to run. */
function approveCommand(o: CliOptions, repo: string): string {
  const quoted = (v: string) => (/^[\w./:@=-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);
  const args = [
    'gitops sync',
    quoted(repo),
    ...(o.state !== '.gitops' && o.target === 'local' ? ['--state', quoted(o.state)] : []),
    ...(o.target === 'aws' ? ['--target aws'] : []),
    ...(o.bucket ? ['--bucket', quoted(o.bucket)] : []),
    ...(o.bus ? ['--bus', quoted(o.bus)] : []),
    ...(o.stackOutputs ? ['--stack-outputs', quoted(o.stackOutputs)] : []),
    ...(o.region ? ['--region', o.region] : []),
    ...(o.ref ? ['--ref', quoted(o.ref)] : []),
    '--approve',
  ];
  return args.join(' ');
}
