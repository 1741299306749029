export { LocalApplier, type LocalApplierOptions, TERMINATION_PROTECTION_TAG } from './applier-local.ts';
export { FolderArtifactStore, FolderSpecCheckMemo } from './artifacts-folder.ts';
export { LocalDriftDetector } from './drift-local.ts';
export {
  ConsoleEventSink,
  type ConsoleEventSinkOptions,
  type EventListener,
  FanoutEventSink,
  formatEventLine,
  MemoryEventSink,
  type TextOut,
} from './events-console.ts';
export { type LockOptions, withFileLock, writeFileAtomic } from './fs-atomic.ts';
export { localOutputs } from './outputs-local.ts';
export { EnvSecrets, parseDotenv, secretVariable } from './secrets-env.ts';
export { FolderStateStore, type FolderStateStoreOptions } from './state-folder.ts';
