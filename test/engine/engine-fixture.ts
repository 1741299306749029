import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  FolderArtifactStore,
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
  MemoryEventSink,
} from '../../shared/adapters/local/index.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { DetailType } from '../../shared/events/catalog.ts';
import type { Clock, Logger } from '../../shared/ports.ts';
import { LocalSource } from '../../shared/source/index.ts';
import {
  commitFiles,
  createWorkRepo,
  type FileSpec,
  type GitEnv,
  git,
  gitText,
  makeGitEnv,
} from '../helpers/git-repo.ts';

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A clock that moves one second per reading, so records are ordered and nothing waits for real. */
export function steppingClock(start = Date.parse('2026-11-26T10:00:00Z')): Clock {
  let t = start;
  return {
    now: () => {
      t += 1000;
      return new Date(t);
    },
    sleep: async () => {},
  };
}

export interface EngineFixture {
  readonly dir: string;
  readonly genv: GitEnv;
  readonly deps: EngineDeps;
  readonly events: MemoryEventSink;
  readonly state: FolderStateStore;
  commit(files: Readonly<Record<string, FileSpec>>, message: string): string;
  edit(path: string, from: string, to: string, message: string): string;
  head(): string;
  types(): DetailType[];
  clearEvents(): void;
}

/** The bundled example (3 environments, 5 stacks, a Git sync deployment file) as a real repository. */
export function exampleRepo(): EngineFixture {
  const genv = makeGitEnv();
  const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-engine-')));
  cpSync(resolve('examples'), dir, { recursive: true });
  git(genv, dir, ['add', '-A']);
  git(genv, dir, ['commit', '-q', '-m', 'Import the example']);
  const stateDir = mkdtempSync(join(tmpdir(), 'gitops-state-'));
  const events = new MemoryEventSink();
  const state = new FolderStateStore(stateDir);
  const deps: EngineDeps = {
    source: new LocalSource(dir),
    state,
    applier: new LocalApplier(),
    drift: new LocalDriftDetector(),
    events,
    clock: steppingClock(),
    logger: silent,
    defaultRegion: 'eu-west-1',
    artifacts: new FolderArtifactStore(stateDir),
  };
  return {
    dir,
    genv,
    deps,
    events,
    state,
    commit: (files, message) => commitFiles(genv, dir, files, message),
    edit(path, from, to, message) {
      const text = readFileSync(join(dir, path), 'utf8');
      if (!text.includes(from)) throw new Error(`${path} does not contain ${from}`);
      writeFileSync(join(dir, path), text.replace(from, to));
      git(genv, dir, ['commit', '-q', '-am', message]);
      return gitText(genv, dir, ['rev-parse', 'HEAD']);
    },
    head: () => gitText(genv, dir, ['rev-parse', 'HEAD']),
    types: () => events.events.map((e) => e.detailType),
    clearEvents: () => events.events.splice(0),
  };
}
