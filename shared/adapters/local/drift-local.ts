/**
 * Resource drift compares live resources with their template, which needs AWS. Locally there are no live resources,
 * so the answer is an honest NotChecked; revision drift (Git ahead of what was applied) is the engine's own work and
 * runs locally as everywhere.
 */
import type { StackState } from '../../model.ts';
import type { DriftDetector, DriftResult } from '../../ports.ts';

export class LocalDriftDetector implements DriftDetector {
  async detect(_state: StackState, signal?: AbortSignal): Promise<DriftResult> {
    signal?.throwIfAborted();
    return { status: 'NotChecked', resources: [], message: 'resource drift needs --target aws' };
  }
}
