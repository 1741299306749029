/**
 * Errors carry intent, as Flux's controllers do: a stable `reason` constant that tests and events assert on, whether
 * the work should be retried, and whether a person should be told. Every message is sanitized before it is stored, so
 * an error can go to a log, an event or the state store as it is.
 */
import { sanitize } from './sanitize.ts';

export const Reason = {
  // configuration and rendering
  InvalidConfig: 'InvalidConfig',
  InvalidTemplate: 'InvalidTemplate',
  MissingFile: 'MissingFile',
  PathEscape: 'PathEscape',
  DuplicateStack: 'DuplicateStack',
  DependencyCycle: 'DependencyCycle',
  UnknownDependency: 'UnknownDependency',
  InvalidParameter: 'InvalidParameter',
  PlaintextSecret: 'PlaintextSecret',
  LimitExceeded: 'LimitExceeded',
  // source
  RepositoryNotFound: 'RepositoryNotFound',
  AuthFailed: 'AuthFailed',
  RefNotFound: 'RefNotFound',
  EmptyRepository: 'EmptyRepository',
  FetchFailed: 'FetchFailed',
  UnsignedCommit: 'UnsignedCommit',
  // apply
  ChangeSetFailed: 'ChangeSetFailed',
  StackBusy: 'StackBusy',
  StackRollbackComplete: 'StackRollbackComplete',
  UpdateRollbackFailed: 'UpdateRollbackFailed',
  InsufficientCapabilities: 'InsufficientCapabilities',
  TerminationProtected: 'TerminationProtected',
  Throttled: 'Throttled',
  DeadlineExceeded: 'DeadlineExceeded',
  DependencyNotReady: 'DependencyNotReady',
  Superseded: 'Superseded',
  ApprovalRequired: 'ApprovalRequired',
  ApplyFailed: 'ApplyFailed',
  HealthCheckFailed: 'HealthCheckFailed',
  // state and events
  StateConflict: 'StateConflict',
  StateUnavailable: 'StateUnavailable',
  PublishFailed: 'PublishFailed',
  // webhooks
  SignatureMissing: 'SignatureMissing',
  SignatureInvalid: 'SignatureInvalid',
  PayloadTooLarge: 'PayloadTooLarge',
  PayloadInvalid: 'PayloadInvalid',
  UnsupportedEvent: 'UnsupportedEvent',
  SecretMissing: 'SecretMissing',
  // anything else
  Internal: 'Internal',
  // approvals: a Sync Requested named a revision that is neither the one Plan Ready recorded nor on the bound branch
  ApprovalRefused: 'ApprovalRefused',
  // a fetch over a size limit (shared/source/limits.ts)
  FetchTooLarge: 'FetchTooLarge',
  // installation policy and ownership
  PolicyViolation: 'PolicyViolation',
  StackOwnedElsewhere: 'StackOwnedElsewhere',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ErrorOptions {
  /** Retrying the same work later may succeed (throttling, a busy stack, a network fault). @default false */
  readonly retryable?: boolean;
  /** A person should hear of it (a failed sync, not a duplicate delivery). @default true */
  readonly notify?: boolean;
  /** Where in the input it happened: a repository path, a field, a header. */
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  readonly cause?: unknown;
}

/** The base of every error lambda-gitops raises on purpose. */
export class GitOpsError extends Error {
  readonly reason: Reason;
  readonly retryable: boolean;
  readonly notify: boolean;
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;

  constructor(reason: Reason, message: string, options: ErrorOptions = {}) {
    super(sanitize(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GitOpsError';
    this.reason = reason;
    this.retryable = options.retryable ?? false;
    this.notify = options.notify ?? true;
    if (options.file !== undefined) this.file = options.file;
    if (options.line !== undefined) this.line = options.line;
    if (options.field !== undefined) this.field = options.field;
  }

  /** `file:line: field: message`, the form the CLI prints and events carry. */
  describe(): string {
    const where = [this.file && (this.line ? `${this.file}:${this.line}` : this.file), this.field]
      .filter(Boolean)
      .join(': ');
    if (!where || this.message.startsWith(where)) return this.message;
    // Many messages start with their own `file:` or `file: field:`; name each once, not `f: field: f: field: …`.
    let message = this.message;
    for (const part of [this.file && this.line ? `${this.file}:${this.line}` : '', this.file, this.field]) {
      if (part && message.startsWith(`${part}: `)) message = message.slice(part.length + 2);
    }
    return `${where}: ${message}`;
  }
}

/** The repository's configuration or a template is wrong: names the file, line and field. */
export class ConfigError extends GitOpsError {
  constructor(reason: Reason, message: string, options: ErrorOptions = {}) {
    super(reason, message, options);
    this.name = 'ConfigError';
  }
}

/** Fetching or reading the Git repository failed. */
export class SourceError extends GitOpsError {
  constructor(reason: Reason, message: string, options: ErrorOptions = {}) {
    super(reason, message, options);
    this.name = 'SourceError';
  }
}

/** Applying, deleting or checking a stack failed. */
export class ApplyError extends GitOpsError {
  constructor(reason: Reason, message: string, options: ErrorOptions = {}) {
    super(reason, message, options);
    this.name = 'ApplyError';
  }
}

/** Reading or writing the state store failed, or another writer got there first. */
export class StateError extends GitOpsError {
  constructor(reason: Reason, message: string, options: ErrorOptions = {}) {
    super(reason, message, options);
    this.name = 'StateError';
  }
}

/** A webhook delivery was refused; `status` is the HTTP status to answer with. */
export class WebhookError extends GitOpsError {
  readonly status: number;
  constructor(reason: Reason, status: number, message: string, options: ErrorOptions = {}) {
    super(reason, message, { notify: false, ...options });
    this.name = 'WebhookError';
    this.status = status;
  }
}

/** Wraps anything thrown into a GitOpsError without losing it, so callers handle one type. */
export function toGitOpsError(err: unknown, fallback: Reason = Reason.Internal): GitOpsError {
  if (err instanceof GitOpsError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new GitOpsError(Reason.DeadlineExceeded, `deadline exceeded: ${err.message}`, {
      retryable: true,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GitOpsError(fallback, message, { cause: err });
}
