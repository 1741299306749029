import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConsoleEventSink,
  EnvSecrets,
  FanoutEventSink,
  FolderArtifactStore,
  FolderSpecCheckMemo,
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
} from '../adapters/local/index.ts';
import { systemClock } from '../clock.ts';
import type { EngineDeps } from '../engine/deps.ts';
import { ConfigError, Reason } from '../errors.ts';
import type { InstallationPolicy } from '../policy/schema.ts';
import type { EventSink, Logger, Secrets } from '../ports.ts';
import { historyDepthFrom, openSource } from '../source/index.ts';
import { terminalWriter } from '../terminal-text.ts';

export interface LocalDepsOptions {
  /** A local repository path or an http(s) Git URL. */
  readonly repo: string;
  /** The state folder. @default `.gitops` */
  readonly stateDir: string;
  readonly logger: Logger;
  /** Extra sinks next to the console (the local runtime's live feed). */
  readonly sinks?: readonly EventSink[];
  /** Print events on the console. @default true */
  readonly console?: boolean;
  readonly color?: boolean;
  readonly defaultRegion?: string;
  readonly secrets?: Secrets;
  /**
   * A file of armored OpenPGP public keys: when set, only commits signed by one of them are applied, whatever the
   * repository's `gitops.yaml` says (`GITOPS_TRUSTED_KEYS_FILE`).
   */
  readonly trustedKeysFile?: string;
  /** The installation policy: what each repository may deploy (shared/policy). */
  readonly policy?: InstallationPolicy;
}

/**
 * The embedded default: state in a folder, events on the console and in `<state>/events.jsonl`, secrets from the
 * environment, and the `local` applier that records the desired state as applied. No AWS needed.
 */
export function localDeps(options: LocalDepsOptions): EngineDeps & { secrets: Secrets } {
  const stateDir = resolve(options.stateDir);
  const secrets = options.secrets ?? new EnvSecrets();
  const sinks: EventSink[] = [...(options.sinks ?? [])];
  sinks.unshift(
    new ConsoleEventSink({
      // Without the console the sink still appends to events.jsonl.
      out: options.console === false ? { write: () => undefined } : terminalWriter(process.stderr),
      jsonlPath: join(stateDir, 'events.jsonl'),
      color: options.color ?? false,
    }),
  );
  const state = new FolderStateStore(stateDir);
  const requireSigned = options.trustedKeysFile
    ? { keys: [readTrustedKeys(options.trustedKeysFile)], ssmKeys: [] }
    : undefined;
  return {
    source: openSource(options.repo, {
      cacheDir: cacheDirFor(options.repo),
      token: () => secrets.get('git-token'),
      ...withHistoryDepth(historyDepthFrom(process.env)),
    }),
    state,
    // The applier reads earlier rendered stacks from the store, so termination protection holds across processes.
    applier: new LocalApplier({ store: state }),
    drift: new LocalDriftDetector(),
    events: sinks.length === 1 ? (sinks[0] as EventSink) : new FanoutEventSink(...sinks),
    clock: systemClock,
    logger: options.logger,
    defaultRegion: options.defaultRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // Without --region the default is the operator's environment: it seeds new stacks but never moves applied ones.
    ...(options.defaultRegion === undefined ? { ambientRegion: true } : {}),
    ...(options.policy ? { policy: options.policy } : {}),
    secrets,
    ...(requireSigned ? { requireSigned } : {}),
    artifacts: new FolderArtifactStore(stateDir),
    // The local target refuses what CloudFormation would refuse at create time.
    checkResources: true,
    specChecked: new FolderSpecCheckMemo(stateDir),
  };
}

function readTrustedKeys(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(Reason.InvalidConfig, `GITOPS_TRUSTED_KEYS_FILE: cannot read ${file}`, {
      field: 'GITOPS_TRUSTED_KEYS_FILE',
      cause: err,
    });
  }
}

/** Fetched repositories are cached per URL so the next fetch only transfers new objects. */
export function cacheDirFor(repo: string): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'lambda-gitops', createHash('sha256').update(repo).digest('hex').slice(0, 16));
}

/** The history bound for ordering commits of a remote repository, when `GITOPS_HISTORY_DEPTH` sets one. */
const withHistoryDepth = (depth: number | undefined) => (depth === undefined ? {} : { maxHistoryDepth: depth });
