/**
 * The engine with the local adapters, as the benchmarks run it: a FolderStateStore in `stateDir`, the LocalApplier,
 * and a drift detector that answers at once (the CloudFormation waits are bench/drift.ts's).
 */
import {
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
  type MemoryEventSink,
} from '../../shared/adapters/local/index.ts';
import { systemClock } from '../../shared/clock.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { openSource, type SourceOptions } from '../../shared/source/index.ts';
import { quietLogger } from './quiet.ts';

/** `repo` is a path or an HTTP(S) URL; `source` options (a cache folder) apply to a URL. */
export function localEngine(
  repo: string,
  stateDir: string,
  events: MemoryEventSink,
  source: SourceOptions = {},
): EngineDeps {
  const state = new FolderStateStore(stateDir);
  return {
    source: openSource(repo, source),
    state,
    applier: new LocalApplier({ store: state }),
    drift: new LocalDriftDetector(),
    events,
    clock: systemClock,
    logger: quietLogger,
    defaultRegion: 'eu-west-1',
  };
}
