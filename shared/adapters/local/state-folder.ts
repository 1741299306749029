/**
 * The local StateStore: plain JSON files in a folder (`.gitops/` by default), readable and diffable by people.
 *
 *   <dir>/state/<env>/<stack>.json                      current state of one stack
 *   <dir>/history/<env>/<stack>/<timestamp>-<id>.json   one file per sync attempt
 *   <dir>/rendered/<sha256>/<revision>.json             rendered artifacts, by content hash and commit, written once
 *
 * A state file's version is the sha256 of its bytes, so a conditional write compares what is really on disk. Writes of
 * one stack take a lock file next to it, which makes `ifVersion` hold across processes, not only inside this one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Reason, StateError } from '../../errors.ts';
import type { HistoryRecord, StackKey, StackState } from '../../model.ts';
import type { RenderedArtifact, StateStore, StoredStackState } from '../../ports.ts';
import { type LockOptions, withFileLock, writeFileAtomic } from './fs-atomic.ts';

/** One path segment of a key: no separators, no `.`/`..`, no leading dot (hidden and temp files are ours). */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HASH = /^[a-f0-9]{64}$/;
/** A revision as a file name: a commit id in practice; nothing that could leave `rendered/<hash>/`. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export interface FolderStateStoreOptions {
  readonly lock?: LockOptions;
}

export class FolderStateStore implements StateStore {
  readonly dir: string;
  private readonly lockOptions: LockOptions;

  constructor(dir: string, options: FolderStateStoreOptions = {}) {
    this.dir = resolve(dir);
    this.lockOptions = options.lock ?? {};
  }

  async getStack(key: StackKey): Promise<StoredStackState | undefined> {
    const file = this.stateFile(key);
    const bytes = await readIfExists(file);
    if (bytes === undefined) return undefined;
    return { state: parseJson<StackState>(bytes, file), version: sha256(bytes) };
  }

  async listStacks(): Promise<readonly StackState[]> {
    const root = join(this.dir, 'state');
    const files: string[] = [];
    for (const env of (await listDir(root)).filter((n) => SEGMENT.test(n)).sort()) {
      for (const name of (await listDir(join(root, env))).sort()) {
        if (name.endsWith('.json') && SEGMENT.test(name)) files.push(join(root, env, name));
      }
    }
    // Synchronous reads in slices, yielding between them: a state file is small and, on a local disk, in the page
    // cache, so a promise and a thread-pool round trip per file cost several times the read (10,000 stacks: about
    // 0.15 s of CPU this way, 1 s through fs/promises); yielding keeps a `gitops dev` server answering meanwhile.
    const states: StackState[] = [];
    for (let i = 0; i < files.length; i += 500) {
      if (i > 0) await new Promise<void>((ok) => setImmediate(ok));
      for (const file of files.slice(i, i + 500)) {
        const bytes = readIfExistsSync(file);
        if (bytes !== undefined) states.push(parseJson<StackState>(bytes, file));
      }
    }
    return states;
  }

  async putStack(state: StackState, options: { readonly ifVersion?: string | null } = {}): Promise<string> {
    const file = this.stateFile(state.key);
    const bytes = Buffer.from(`${JSON.stringify(state, null, 2)}\n`);
    return withFileLock(
      `${file}.lock`,
      async () => {
        if (options.ifVersion !== undefined) {
          const current = await readIfExists(file);
          const currentVersion = current === undefined ? null : sha256(current);
          if (currentVersion !== options.ifVersion) {
            throw new StateError(
              Reason.StateConflict,
              `state of ${state.key} changed since it was read (expected version ${short(options.ifVersion)}, found ${short(currentVersion)})`,
              { retryable: true, notify: false, file },
            );
          }
        }
        await this.write(file, bytes);
        return sha256(bytes);
      },
      this.lockOptions,
    );
  }

  async deleteStack(key: StackKey): Promise<void> {
    const file = this.stateFile(key);
    await withFileLock(
      `${file}.lock`,
      async () => {
        await unlink(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw unavailable(`cannot delete ${file}`, file, err);
        });
      },
      this.lockOptions,
    );
  }

  async putRendered(artifact: RenderedArtifact): Promise<void> {
    const file = this.renderedFile(artifact.hash, artifact.rendered.revision);
    // Addressed by content and commit: a file that exists already holds these bytes, so it is never rewritten.
    if (await exists(file)) return;
    await this.write(file, `${JSON.stringify(artifact)}\n`);
  }

  async getRendered(hash: string, revision?: string): Promise<RenderedArtifact | undefined> {
    if (revision !== undefined) {
      const file = this.renderedFile(hash, revision);
      const bytes = await readIfExists(file);
      if (bytes !== undefined) return parseJson<RenderedArtifact>(bytes, file);
    }
    // Written before artifacts were kept per revision: only good for the commit it names.
    const legacy = this.renderedFile(hash);
    const bytes = await readIfExists(legacy);
    const artifact = bytes === undefined ? undefined : parseJson<RenderedArtifact>(bytes, legacy);
    return artifact && (revision === undefined || artifact.rendered.revision === revision) ? artifact : undefined;
  }

  async appendHistory(record: HistoryRecord): Promise<void> {
    const [env, stack] = this.segments(record.key);
    const time = Date.parse(record.startedAt);
    if (Number.isNaN(time)) {
      throw new StateError(Reason.Internal, `history record of ${record.key} has no valid startedAt`, {
        field: 'startedAt',
      });
    }
    // Compact UTC time first so that file names sort in time order (and carry no `:`, which Windows refuses).
    const stamp = new Date(time).toISOString().replace(/[-:]/g, '').replace('.', '');
    const id = record.id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'record';
    const file = this.inside(join(this.dir, 'history', env, stack, `${stamp}-${id}.json`));
    await this.write(file, `${JSON.stringify(record, null, 2)}\n`);
  }

  async listHistory(key: StackKey, limit?: number): Promise<readonly HistoryRecord[]> {
    const [env, stack] = this.segments(key);
    const dir = join(this.dir, 'history', env, stack);
    const names = (await listDir(dir))
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .sort()
      .reverse();
    const chosen = limit === undefined ? names : names.slice(0, Math.max(0, limit));
    const records: HistoryRecord[] = [];
    for (const name of chosen) {
      const file = join(dir, name);
      const bytes = await readIfExists(file);
      if (bytes !== undefined) records.push(parseJson<HistoryRecord>(bytes, file));
    }
    return records;
  }

  private async write(file: string, data: string | Uint8Array): Promise<void> {
    try {
      await writeFileAtomic(file, data);
    } catch (err) {
      throw unavailable(`cannot write ${file}`, file, err);
    }
  }

  private stateFile(key: StackKey): string {
    const [env, stack] = this.segments(key);
    return this.inside(join(this.dir, 'state', env, `${stack}.json`));
  }

  private renderedFile(hash: string, revision?: string): string {
    if (!HASH.test(hash)) {
      throw new StateError(Reason.PathEscape, `rendered hash must be 64 lower-case hex characters, got "${hash}"`, {
        field: 'hash',
      });
    }
    if (revision === undefined) return this.inside(join(this.dir, 'rendered', `${hash}.json`));
    if (!REVISION.test(revision)) {
      throw new StateError(Reason.PathEscape, `revision must be a commit id, got "${revision.slice(0, 80)}"`, {
        field: 'revision',
      });
    }
    return this.inside(join(this.dir, 'rendered', hash, `${revision}.json`));
  }

  /** `env/stack` → its two segments; refuses anything that could name a file outside the folder. */
  private segments(key: StackKey): [string, string] {
    const parts = key.split('/');
    if (parts.length !== 2 || !parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..')) {
      throw new StateError(Reason.PathEscape, `stack key "${key}" must be "environment/stack" with plain names`, {
        field: 'key',
      });
    }
    return [parts[0]!, parts[1]!];
  }

  /** Belt and braces after the segment check: the resolved path must stay under the store's folder. */
  private inside(path: string): string {
    const full = resolve(path);
    if (!full.startsWith(this.dir + sep)) {
      throw new StateError(Reason.PathEscape, `path ${full} is outside the state folder ${this.dir}`);
    }
    return full;
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function short(version: string | null | undefined): string {
  return version ? version.slice(0, 12) : 'none';
}

function parseJson<T>(bytes: Buffer, file: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw unavailable(`${file} is not valid JSON; fix or remove it`, file, err);
  }
}

function unavailable(message: string, file: string, cause: unknown): StateError {
  return new StateError(Reason.StateUnavailable, message, { file, cause });
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unavailable(`cannot read ${file}`, file, err);
  }
}

function readIfExistsSync(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unavailable(`cannot read ${file}`, file, err);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw unavailable(`cannot list ${dir}`, dir, err);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
