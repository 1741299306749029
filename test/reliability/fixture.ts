/**
 * A small desired-state repository (one environment, one or two stacks) as a real Git repository, the engine wired to
 * it with the local adapters, and a digest of the state folder so a test can say "nothing changed".
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  FolderStateStore,
  LocalApplier,
  LocalDriftDetector,
  MemoryEventSink,
} from '../../shared/adapters/local/index.ts';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { Applier, Secrets, Source } from '../../shared/ports.ts';
import { LocalSource } from '../../shared/source/index.ts';
import { commitFiles, createWorkRepo, type FileSpec, type GitEnv, gitText, makeGitEnv } from '../helpers/git-repo.ts';

// One stepping clock and one silent logger for every engine test: the engine fixture's.
export { silent, steppingClock } from '../engine/engine-fixture.ts';

import { silent, steppingClock } from '../engine/engine-fixture.ts';

export const TEMPLATE = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Size:
    Type: String
    Default: "1"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      Tags:
        - Key: size
          Value: !Ref Size
Outputs:
  QueueUrl:
    Value: !Ref Queue
`;

export const GITOPS = `environments:
  - name: dev
    region: eu-west-1
stacks:
  - name: app
    template: templates/app.yaml
    parameters:
      Size: "2"
  - name: web
    template: templates/web.yaml
    dependsOn: [app]
`;

export const BASE_FILES: Readonly<Record<string, string>> = {
  'gitops.yaml': GITOPS,
  'templates/app.yaml': TEMPLATE,
  'templates/web.yaml': TEMPLATE.replace('VisibilityTimeout: 30', 'VisibilityTimeout: 60'),
};

export interface SmallRepo {
  readonly dir: string;
  readonly genv: GitEnv;
  readonly stateDir: string;
  readonly deps: EngineDeps;
  readonly events: MemoryEventSink;
  readonly state: FolderStateStore;
  commit(files: Readonly<Record<string, FileSpec>>, message: string): string;
  head(): string;
  types(): string[];
  clearEvents(): void;
}

export interface SmallRepoOptions {
  readonly files?: Readonly<Record<string, FileSpec>>;
  readonly applier?: Applier;
  readonly secrets?: Secrets;
  readonly source?: (dir: string) => Source;
  /** Make no first commit (an empty repository). */
  readonly empty?: boolean;
}

export function smallRepo(options: SmallRepoOptions = {}): SmallRepo {
  const genv = makeGitEnv();
  const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-rel-repo-')));
  if (!options.empty) commitFiles(genv, dir, options.files ?? BASE_FILES, 'Initial desired state');
  const stateDir = mkdtempSync(join(tmpdir(), 'gitops-rel-state-'));
  const events = new MemoryEventSink();
  const state = new FolderStateStore(stateDir);
  const deps: EngineDeps = {
    source: options.source ? options.source(dir) : new LocalSource(dir),
    state,
    applier: options.applier ?? new LocalApplier({ store: state }),
    drift: new LocalDriftDetector(),
    events,
    clock: steppingClock(),
    logger: silent,
    defaultRegion: 'eu-west-1',
    ...(options.secrets ? { secrets: options.secrets } : {}),
  };
  return {
    dir,
    genv,
    stateDir,
    deps,
    events,
    state,
    commit: (files, message) => commitFiles(genv, dir, files, message),
    head: () => gitText(genv, dir, ['rev-parse', 'HEAD']),
    types: () => events.events.map((e) => e.detailType),
    clearEvents: () => events.events.splice(0),
  };
}

/** Every file under `dir` with its text, by relative path. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const full = join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.set(relative(dir, full), readFileSync(full, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/**
 * What a failed sync must leave alone: the rendered artifacts and, in every state file, everything but the record
 * of the attempt (`sync`, `lastAttempted`, `updatedAt`). History records of attempts are not part of it.
 */
export function appliedDigest(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, text] of readTree(dir)) {
    if (path.startsWith('history/') || path === 'events.jsonl' || path.endsWith('.lock')) continue;
    if (path.startsWith('state/')) {
      const { sync: _s, lastAttempted: _a, updatedAt: _u, ...rest } = JSON.parse(text) as Record<string, unknown>;
      out[path] = rest;
    } else {
      out[path] = text;
    }
  }
  return out;
}

/** The terminal events (the ones a person or a pipeline waits for). */
export const TERMINAL = new Set(['Sync Succeeded', 'Sync Failed', 'Sync Skipped']);

export function reasonsOf(events: readonly GitOpsEvent[], type: string): string[] {
  return events.filter((e) => e.detailType === type).map((e) => e.detail.reason);
}
