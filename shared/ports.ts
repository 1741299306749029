/**
 * The ports of the core. The engine only ever talks to these interfaces; the AWS adapters (`adapters/aws`) and the
 * local ones (`adapters/local`) implement them, and tests pass their own. Every long operation takes an AbortSignal
 * so a deadline can be passed down from the Lambda timeout or the CLI.
 */
import type { GitOpsEvent } from './events/catalog.ts';
import type {
  ChangeSummary,
  CommitInfo,
  DriftedResource,
  DriftStatus,
  HistoryRecord,
  RenderedStack,
  StackKey,
  StackState,
} from './model.ts';

// ---------------------------------------------------------------- Source

export interface TreeEntry {
  /** Repository-relative path with `/` separators. */
  readonly path: string;
  /** Git blob id. */
  readonly oid: string;
  /** Git mode: `100644`, `100755`, `120000` (symlink). */
  readonly mode: string;
}

/** One commit's tree, read from the object store: never from a working copy. */
export interface RepoSnapshot {
  /** The repository as events show it: a URL without credentials, or a local path. */
  readonly repo: string;
  readonly branch: string;
  readonly commit: CommitInfo;
  /** Every file of the tree (no directories), sorted by path. */
  list(): Promise<readonly TreeEntry[]>;
  /** A file's bytes. Throws SourceError `MissingFile` when the path is not a file of the tree. */
  readFile(path: string): Promise<Uint8Array>;
}

export interface FetchOptions {
  /** Branch name, tag or full commit SHA. @default the remote's default branch */
  readonly ref?: string;
  readonly signal?: AbortSignal;
}

export interface Source {
  /** Resolves the ref to a commit and gives its tree. */
  fetch(options?: FetchOptions): Promise<RepoSnapshot>;
  /**
   * Whether `ancestor` is an ancestor of (or equal to) `descendant`; `undefined` when the history needed to tell is
   * not available (a shallow fetch). The engine then orders the two by committer time.
   */
  isAncestor?(ancestor: string, descendant: string, signal?: AbortSignal): Promise<boolean | undefined>;
  /** The commit's OpenPGP signature and signed payload, for signed-commit policies. */
  readSignature?(sha: string): Promise<{ signature?: string; payload: string }>;
}

// ---------------------------------------------------------------- State

export interface StoredStackState {
  readonly state: StackState;
  /** Opaque version (ETag, file hash) for conditional writes. */
  readonly version: string;
}

/**
 * The rendered artifact, stored once per content hash and revision. Two commits can render the same content (a revert
 * brings back an earlier template): each keeps its own artifact, so what is applied names the commit that asked.
 */
export interface RenderedArtifact {
  readonly hash: string;
  readonly rendered: RenderedStack;
}

export interface StateStore {
  getStack(key: StackKey): Promise<StoredStackState | undefined>;
  listStacks(): Promise<readonly StackState[]>;
  /**
   * Writes a stack's state. With `ifVersion`, the write only happens when the stored version is still that one
   * (`null`: only when there is none yet); otherwise it throws StateError `StateConflict`. Returns the new version.
   */
  putStack(state: StackState, options?: { readonly ifVersion?: string | null }): Promise<string>;
  deleteStack(key: StackKey): Promise<void>;
  /**
   * Stores a rendered stack under its hash and its revision (`rendered.revision`); idempotent, an artifact never
   * changes once written.
   */
  putRendered(artifact: RenderedArtifact): Promise<void>;
  /**
   * The artifact rendered at `revision` with this hash. Without a revision (a request from before artifacts were kept
   * per revision), the one stored under the hash alone.
   */
  getRendered(hash: string, revision?: string): Promise<RenderedArtifact | undefined>;
  appendHistory(record: HistoryRecord): Promise<void>;
  /** The newest first. */
  listHistory(key: StackKey, limit?: number): Promise<readonly HistoryRecord[]>;
}

// ---------------------------------------------------------------- Apply

export interface ApplyRequest {
  readonly rendered: RenderedStack;
  /** What was applied before, when known (the template for the local diff). */
  readonly previous?: RenderedStack;
  /** Revert drift with a drift-aware change set (`DeploymentMode: REVERT_DRIFT`). */
  readonly revertDrift?: boolean;
  readonly signal?: AbortSignal;
  /**
   * preview only: keep what the preview made (a change set) so that `apply` can execute that same one. The caller
   * then passes `changeSetId` to `apply`, or `discard`s the preview. A CLI sync does this; `plan` does not.
   */
  readonly keep?: boolean;
  /**
   * apply only: the change set a kept preview made for this stack. It is executed when it still matches what would be
   * sent (template, resolved parameters, tags, capabilities); otherwise it is deleted and a new one is made.
   */
  readonly changeSetId?: string;
}

export interface ApplyResult {
  /** `NoChanges`: CloudFormation had nothing to do (an empty change set is success). */
  readonly status: 'Applied' | 'NoChanges';
  readonly changes: ChangeSummary;
  readonly outputs: Readonly<Record<string, string>>;
  readonly changeSetId?: string;
  readonly stackId?: string;
  /** Human-readable description of the change, for the CLI and history. */
  readonly diffText?: string;
}

export interface PreviewResult {
  readonly changes: ChangeSummary;
  readonly diffText: string;
  readonly hasChanges: boolean;
  /** The change set a preview with `keep` left for `apply`. */
  readonly changeSetId?: string;
  /**
   * Parameters fed by a dependency's output that is not applied yet (parameter → `stack.OutputName`): the preview
   * was computed offline, without them.
   */
  readonly pendingParameters?: Readonly<Record<string, string>>;
}

export interface DeleteRequest {
  readonly state: StackState;
  /**
   * The repository being synced: the stack is deleted only when its live `lambda-gitops:repository` tag (or, locally,
   * its last applied record) names this repository too. @default state.repo
   */
  readonly repo?: string;
  readonly signal?: AbortSignal;
}

export interface Applier {
  /** The change CloudFormation would make, without making it. `plan` and `sync` both call this. */
  preview(request: ApplyRequest): Promise<PreviewResult>;
  /** Makes the stack match `rendered`. Throws ApplyError with a reason on failure. */
  apply(request: ApplyRequest): Promise<ApplyResult>;
  /** Deletes a stack that is gone from Git (prune). Throws ApplyError `TerminationProtected` when it is protected. */
  delete(request: DeleteRequest): Promise<void>;
  /** Stack status and the named alarms, after an apply. */
  health?(rendered: RenderedStack, signal?: AbortSignal): Promise<{ healthy: boolean; message: string }>;
  /** Removes what a preview with `keep` left and no apply used (a change set, a stack it created for review). */
  discard?(preview: PreviewResult, rendered: RenderedStack): Promise<void>;
}

// ---------------------------------------------------------------- Artifacts

/** Where a stack runs: its artifacts must be readable there (Lambda reads code from its own region). */
export interface ArtifactTarget {
  readonly region: string;
  /** The environment's role: its account holds the artifacts, and the role writes and reads them. */
  readonly role?: string;
  readonly externalId?: string;
}

/**
 * Packaged artifacts (code zips, definitions, nested templates), content-addressed per account and region. `locate`
 * is pure (render calls it to write the S3 locations into the template); `put` stores the bytes before the stack's
 * preview or apply.
 */
export interface ArtifactStore {
  locate(target: ArtifactTarget): { readonly bucket: string; url(key: string): string };
  /** Stores `bytes` under `key` (idempotent: the same key always has the same content). */
  put(target: ArtifactTarget, key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void>;
}

// ---------------------------------------------------------------- Drift

export interface DriftResult {
  readonly status: DriftStatus;
  readonly resources: readonly DriftedResource[];
  readonly message?: string;
}

/** Resource drift: the live stack against its template. Revision drift is the engine's own work. */
export interface DriftDetector {
  detect(state: StackState, signal?: AbortSignal): Promise<DriftResult>;
}

// ---------------------------------------------------------------- Events, secrets, time, logs

export interface EventSink {
  /** Publishes every event or throws GitOpsError `PublishFailed` naming the ones that could not be sent. */
  publish(events: readonly GitOpsEvent[]): Promise<void>;
}

export interface Secrets {
  /** The secret's value, or undefined when it is not set. Values are registered with `sanitize`. */
  get(name: SecretName | string): Promise<string | undefined>;
}
export type SecretName = 'webhook-secret' | 'git-token' | 'slack-webhook-url' | 'github-token';

export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
