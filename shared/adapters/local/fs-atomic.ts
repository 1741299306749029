/**
 * File primitives the folder store is built on: an atomic write (temp file in the same directory, fsync, rename, so a
 * reader sees the old bytes or the new ones and never half a file) and an exclusive lock file that works across
 * processes (`gitops sync` and `gitops dev` may share one folder).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Reason, StateError } from '../../errors.ts';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable; some platforms cannot open a directory for fsync, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows and some network file systems refuse fsync on a directory; the rename is still atomic there.
  }
}

export interface LockOptions {
  /** A lock file older than this is left over from a crashed process and is broken. @default 30_000 */
  readonly staleMs?: number;
  /** How long to wait for a live lock before giving up. @default 10_000 */
  readonly timeoutMs?: number;
  /** Poll interval while waiting. @default 25 */
  readonly pollMs?: number;
}

/**
 * Runs `work` while holding `<lockPath>` exclusively. The lock file holds a random token so that releasing never
 * removes a lock another process took after ours was judged stale. Breaking a stale lock (unlink, then `wx` again)
 * leaves a narrow window where two processes that both saw the same stale file could both proceed; a lock is only
 * stale after `staleMs` without its owner finishing, which a state write never takes.
 */
export async function withFileLock<T>(lockPath: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pollMs = options.pollMs ?? 25;
  const token = `${process.pid}:${randomBytes(8).toString('hex')}`;
  const started = Date.now();
  await mkdir(dirname(lockPath), { recursive: true });
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StateError(Reason.StateUnavailable, `cannot create lock file ${lockPath}`, {
          retryable: true,
          file: lockPath,
          cause: err,
        });
      }
    }
    const info = await stat(lockPath).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleMs) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new StateError(Reason.StateUnavailable, `${lockPath} is held by another writer (waited ${timeoutMs} ms)`, {
        retryable: true,
        file: lockPath,
      });
    }
    await delay(pollMs);
  }
  try {
    return await work();
  } finally {
    const current = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (current === token) await unlink(lockPath).catch(() => undefined);
  }
}
