/**
 * A commit's tree as a RepoSnapshot, over any object reader: the tree is walked once (on first use) into a sorted
 * list; files are read by id from the reader, never from a working copy.
 */
import { Reason, SourceError } from '../errors.ts';
import type { CommitInfo } from '../model.ts';
import type { RepoSnapshot, TreeEntry } from '../ports.ts';
import { ObjectTooLarge, objectTooLargeError } from './limits.ts';
import { type GitObject, type ParsedCommit, parseCommit, parseTree } from './objects.ts';

/**
 * Reads objects by id; undefined when the object is not available (a shallow boundary, a missing object). Throws
 * ObjectTooLarge for an object over the per-object limit.
 */
export interface AsyncObjectReader {
  read(oid: string): Promise<GitObject | undefined>;
}

/** Reads `oid`, turning an object over the size limit into `FetchTooLarge` naming `path`. */
async function readAt(reader: AsyncObjectReader, oid: string, path: string): Promise<GitObject | undefined> {
  try {
    return await reader.read(oid);
  } catch (err) {
    if (err instanceof ObjectTooLarge) throw objectTooLargeError(path, err);
    throw err;
  }
}

export async function readCommit(reader: AsyncObjectReader, oid: string): Promise<ParsedCommit | undefined> {
  const obj = await reader.read(oid);
  if (!obj) return undefined;
  if (obj.type !== 'commit') throw new SourceError(Reason.RefNotFound, `${oid} is a ${obj.type}, not a commit`);
  return parseCommit(obj.data);
}

export function commitInfo(oid: string, commit: ParsedCommit, url: string | undefined): CommitInfo {
  return {
    sha: oid,
    author: commit.author,
    message: commit.message.trimEnd(),
    committedAt: commit.committedAt,
    ...(url ? { url } : {}),
  };
}

/** Every file under `treeOid` (blobs and symlinks; submodule links are not files), sorted by path. */
export async function listTree(reader: AsyncObjectReader, treeOid: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (oid: string, prefix: string): Promise<void> => {
    const obj = await readAt(reader, oid, prefix || '/');
    if (obj?.type !== 'tree') {
      throw new SourceError(Reason.FetchFailed, `tree ${oid} of ${prefix || '/'} is missing from the object store`, {
        retryable: true,
      });
    }
    for (const item of parseTree(obj.data)) {
      const path = prefix + item.name;
      if (item.mode === '040000') await walk(item.oid, `${path}/`);
      else if (item.mode !== '160000') out.push({ path, oid: item.oid, mode: item.mode });
    }
  };
  await walk(treeOid, '');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface SnapshotInit {
  readonly repo: string;
  readonly branch: string;
  readonly commit: CommitInfo;
  readonly tree: string;
  readonly reader: AsyncObjectReader;
  /** The listing, when the caller already walked the tree. */
  readonly entries?: readonly TreeEntry[];
}

export function makeSnapshot(init: SnapshotInit): RepoSnapshot {
  let listing: Promise<readonly TreeEntry[]> | undefined = init.entries ? Promise.resolve(init.entries) : undefined;
  let byPath: Map<string, TreeEntry> | undefined;
  const list = (): Promise<readonly TreeEntry[]> => {
    listing ??= listTree(init.reader, init.tree);
    return listing;
  };
  return {
    repo: init.repo,
    branch: init.branch,
    commit: init.commit,
    list,
    async readFile(path: string): Promise<Uint8Array> {
      if (!byPath) byPath = new Map((await list()).map((e) => [e.path, e]));
      const entry = byPath.get(path.replace(/^\.?\/+/, ''));
      if (!entry) {
        throw new SourceError(Reason.MissingFile, `${path} is not a file at commit ${init.commit.sha.slice(0, 12)}`, {
          file: path,
        });
      }
      const obj = await readAt(init.reader, entry.oid, entry.path);
      if (obj?.type !== 'blob') {
        throw new SourceError(Reason.FetchFailed, `blob ${entry.oid} of ${path} is missing from the object store`, {
          file: path,
          retryable: true,
        });
      }
      return obj.data;
    },
  };
}
