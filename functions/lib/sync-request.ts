/**
 * What a message on the sync queue asks for. Three shapes arrive, all as EventBridge events: our own `Push Received`
 * and `Sync Requested`, and CodeCommit's native `CodeCommit Repository State Change`.
 */
import { ConfigError, Reason } from '../../shared/errors.ts';
import { DetailType, EVENT_SOURCE } from '../../shared/events/catalog.ts';
import type { RepositoryEnv } from '../../shared/function-env.ts';
import { findRepository } from './env-config.ts';

export interface SyncRequest {
  readonly repository: RepositoryEnv;
  /** The branch to sync (the installation's branch for the repository, for a Sync Requested). */
  readonly ref: string;
  /**
   * A revision the Sync Requested names (an approval): applied instead of the branch head, but only where
   * shared/engine/approval.ts authorizes it against `ref`.
   */
  readonly revision?: string;
  readonly environments: readonly string[];
  readonly stacks: readonly string[];
  readonly approve: boolean;
  readonly why: string;
}

interface BusEvent {
  readonly source?: string;
  readonly 'detail-type'?: string;
  readonly detail?: Record<string, unknown>;
}

/** The requests a message stands for (a Sync Requested without a repository means every configured one). */
export function syncRequestsFrom(body: string, repositories: readonly RepositoryEnv[]): SyncRequest[] {
  let event: BusEvent;
  try {
    event = JSON.parse(body) as BusEvent;
  } catch (err) {
    throw new ConfigError(Reason.PayloadInvalid, 'sync message body is not JSON', { cause: err, notify: false });
  }
  const detail = event.detail ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const list = (v: unknown) =>
    typeof v === 'string' && v ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];

  if (event.source === 'aws.codecommit' && event['detail-type'] === 'CodeCommit Repository State Change') {
    if (detail.referenceType !== 'branch' || detail.event === 'referenceDeleted') return [];
    const repository = findRepository(repositories, { name: str(detail.repositoryName) });
    if (!repository || repository.branch !== detail.referenceName) return [];
    return [
      {
        repository,
        ref: repository.branch,
        environments: [],
        stacks: [],
        approve: false,
        why: `CodeCommit ${str(detail.repositoryName)} ${repository.branch} at ${String(detail.commitId ?? '').slice(0, 7)}`,
      },
    ];
  }
  if (event.source !== EVENT_SOURCE) {
    throw new ConfigError(Reason.UnsupportedEvent, `sync message from an unknown source "${event.source}"`, {
      notify: false,
    });
  }
  if (event['detail-type'] === DetailType.PushReceived) {
    const repository = findRepository(repositories, { url: str(detail.repo), name: str(detail.repo) });
    if (!repository) return [];
    return [
      {
        repository,
        ref: str(detail.branch) ?? repository.branch,
        environments: [],
        stacks: [],
        approve: false,
        why: `push ${String(detail.revision ?? '').slice(0, 7)} (delivery ${str(detail.deliveryId) ?? '-'})`,
      },
    ];
  }
  if (event['detail-type'] === DetailType.SyncRequested) {
    const repo = str(detail.repo);
    const branch = str(detail.branch);
    // Every configured branch of the named repository (all repositories without one), or only the named branch: the
    // bus rule routes a Sync Requested on its branch, and a branch the installation does not follow is not synced.
    const targets = repositories.filter(
      (r) =>
        (!repo || findRepository([r], { url: repo, name: repo }) === r) &&
        (branch === undefined || r.branch === branch),
    );
    // An approval names the revision that was reviewed (the one in Plan Ready): exactly that commit is applied, not
    // whatever the branch has moved to since, and only if it is that reviewed commit or on the installation's branch
    // (the engine checks). Without one, the branch head. The branch is the installation's, never the event's.
    const revision = str(detail.revision);
    return targets.map((repository) => ({
      repository,
      ref: repository.branch,
      ...(revision ? { revision } : {}),
      environments: list(detail.environment),
      stacks: list(detail.stack),
      approve: detail.approve === true,
      why: str(detail.message) ?? 'sync requested',
    }));
  }
  throw new ConfigError(Reason.UnsupportedEvent, `sync message of an unknown type "${event['detail-type']}"`, {
    notify: false,
  });
}
