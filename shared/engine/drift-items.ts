/**
 * The drift fan-out's work items and run ledger (drift-fanout.ts describes the design): shared by the planner and the
 * workers, and free of the renderer, so the worker loads only what it uses.
 */
import type { StackKey, StackState } from '../model.ts';
import { driftFingerprint } from './drift-record.ts';

/**
 * Stacks per queued item: about 250 bytes each (key, name, region, role, a 64-character fingerprint) keeps a message
 * near 50 KiB, far below SQS's 256 KiB.
 */
export const MAX_TARGETS_PER_ITEM = 200;

/** What a worker needs of one stack: where it is, and the drift it had when the run was planned. */
export interface DriftTarget {
  readonly key: StackKey;
  readonly stackName: string;
  readonly region: string;
  readonly role?: string;
  /** driftFingerprint of the stored drift: a worker reads the state only when the result differs from it. */
  readonly drift: string;
  /** `syncPolicy.selfHeal`: a drifted stack is re-applied with its applied template. */
  readonly selfHeal?: true;
}

/** One queued message of the resource pass. */
export interface DriftWorkItem {
  readonly runId: string;
  /** The repository's name (its engine). */
  readonly repo: string;
  /** `<account>/<region>`: the FIFO message group, one worker at a time. */
  readonly group: string;
  /** The item's id in the ledger; a continuation keeps it. */
  readonly item: string;
  /** Stacks of the item already checked before this message. */
  readonly offset: number;
  readonly targets: readonly DriftTarget[];
}

/** The run ledger: the one run going on, and how many stacks each item has left. */
export interface DriftRun {
  readonly id: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Set when every item has no stack left (or the run was abandoned). */
  readonly finishedAt?: string;
  readonly items: Readonly<
    Record<string, { readonly group: string; readonly total: number; readonly remaining: number }>
  >;
}

export interface DriftRunStore {
  read(): Promise<{ readonly run: DriftRun; readonly version: string } | undefined>;
  /** Conditional on `ifVersion` (`null`: only when there is none); a StateError `StateConflict` otherwise. */
  write(run: DriftRun, options: { readonly ifVersion: string | null }): Promise<string>;
}

export interface DriftWorkQueue {
  /** Sends items (FIFO: group = `item.group`, deduplicated by run, item and offset). */
  send(items: readonly DriftWorkItem[]): Promise<void>;
}

/** Stacks a run has left, over every item. */
export const backlogOf = (run: DriftRun): number =>
  Object.values(run.items).reduce((sum, item) => sum + item.remaining, 0);

/** The FIFO group of a stack: the account of its role (the installation's own, `self`, without one) and its region. */
export function accountRegion(state: Pick<StackState, 'role' | 'region'>): string {
  const account = /^arn:aws[\w-]*:iam::(\d{12}):/.exec(state.role ?? '')?.[1] ?? 'self';
  return `${account}/${state.region}`;
}

/** Splits the checkable stacks into items per account-region, each at most `max` stacks, in key order. */
export function planItems(
  runId: string,
  repo: string,
  states: Iterable<StackState>,
  max = MAX_TARGETS_PER_ITEM,
): DriftWorkItem[] {
  const groups = new Map<string, DriftTarget[]>();
  for (const s of [...states].sort((a, b) => a.key.localeCompare(b.key))) {
    const group = accountRegion(s);
    const target: DriftTarget = {
      key: s.key,
      stackName: s.stackName,
      region: s.region,
      ...(s.role ? { role: s.role } : {}),
      drift: driftFingerprint(s.drift),
      ...(s.syncPolicy?.selfHeal ? { selfHeal: true as const } : {}),
    };
    groups.set(group, [...(groups.get(group) ?? []), target]);
  }
  const items: DriftWorkItem[] = [];
  for (const [group, targets] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    for (let from = 0; from < targets.length; from += max) {
      const item = `${repo}:${group}:${from / max}`;
      items.push({ runId, repo, group, item, offset: 0, targets: targets.slice(from, from + max) });
    }
  }
  return items;
}
