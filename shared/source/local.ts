/**
 * LocalSource: a repository on disk (with a working tree or bare) read at a ref from its object store, so only
 * committed state counts: uncommitted and untracked files are never seen. isomorphic-git reads the store (loose
 * objects, packs through their .idx, packed-refs) with one shared cache, so each pack is loaded once per source.
 */
import * as fs from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import git from 'isomorphic-git';
import { Reason, SourceError } from '../errors.ts';
import type { FetchOptions, RepoSnapshot, Source } from '../ports.ts';
import { isAncestorIn } from './history.ts';
import type { GitObject, ObjectType } from './objects.ts';
import { splitSignature } from './objects.ts';
import { type AsyncObjectReader, commitInfo, listTree, makeSnapshot, readCommit } from './snapshot.ts';

function isObjectType(type: string | undefined): type is ObjectType {
  return type === 'blob' || type === 'tree' || type === 'commit' || type === 'tag';
}

/** The git directory of `path`: `<path>/.git` (a folder, or a file pointing elsewhere), or `path` itself if bare. */
function findGitdir(path: string): string | undefined {
  const dotgit = join(path, '.git');
  try {
    const stat = fs.statSync(dotgit);
    if (stat.isDirectory()) return dotgit;
    const match = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotgit, 'utf8'));
    if (match) return isAbsolute(match[1]!.trim()) ? match[1]!.trim() : resolve(path, match[1]!.trim());
  } catch {
    // no .git entry: maybe a bare repository
  }
  if (fs.existsSync(join(path, 'HEAD')) && fs.existsSync(join(path, 'objects'))) return path;
  return undefined;
}

export class LocalSource implements Source {
  /** The absolute path, as events show it. */
  readonly path: string;
  private readonly cache = {};
  private readonly reader: AsyncObjectReader;
  private gitdirValue: string | undefined;

  constructor(path: string) {
    this.path = resolve(path);
    this.reader = {
      read: async (oid) => {
        const loose = this.readLoose(oid);
        if (loose) return loose;
        try {
          const res = await git.readObject({ fs, gitdir: this.gitdir(), oid, format: 'content', cache: this.cache });
          const data = res.object as Uint8Array;
          return {
            type: res.type as ObjectType,
            data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          } satisfies GitObject;
        } catch (err) {
          if ((err as { code?: string }).code === 'NotFoundError') return undefined;
          throw err;
        }
      },
    };
  }

  /**
   * A loose object read directly (one file read and one inflate): isomorphic-git makes several file-system calls per
   * object, which dominates reading a repository whose recent commits are not packed yet.
   */
  private readLoose(oid: string): GitObject | undefined {
    let raw: Buffer;
    try {
      raw = inflateSync(fs.readFileSync(join(this.gitdir(), 'objects', oid.slice(0, 2), oid.slice(2))));
    } catch (err) {
      if (err instanceof SourceError) throw err;
      return undefined;
    }
    const nul = raw.indexOf(0);
    const [type, size] = raw.toString('latin1', 0, nul).split(' ');
    const data = raw.subarray(nul + 1);
    if (!isObjectType(type) || Number(size) !== data.length) return undefined;
    return { type, data };
  }

  private gitdir(): string {
    this.gitdirValue ??= findGitdir(this.path);
    if (!this.gitdirValue) throw new SourceError(Reason.RepositoryNotFound, `${this.path} is not a Git repository`);
    return this.gitdirValue;
  }

  async fetch(options: FetchOptions = {}): Promise<RepoSnapshot> {
    options.signal?.throwIfAborted();
    const gitdir = this.gitdir();
    let branch: string;
    let oid: string;
    if (options.ref === undefined) {
      branch = (await git.currentBranch({ fs, gitdir, fullname: false })) ?? 'HEAD';
      oid = await this.resolve('HEAD', `${this.path} has no commits yet`, Reason.EmptyRepository);
    } else {
      branch = options.ref.replace(/^refs\/(heads|tags)\//, '');
      oid = await this.resolve(options.ref, `branch or tag '${options.ref}' not found in ${this.path}`);
    }
    oid = await this.peel(oid);
    const commit = await readCommit(this.reader, oid);
    if (!commit) throw new SourceError(Reason.RefNotFound, `commit ${oid} is missing from ${this.path}`);
    const entries = await listTree(this.reader, commit.tree);
    return makeSnapshot({
      repo: this.path,
      branch,
      commit: commitInfo(oid, commit, undefined),
      tree: commit.tree,
      reader: this.reader,
      entries,
    });
  }

  private async resolve(ref: string, notFound: string, reason: Reason = Reason.RefNotFound): Promise<string> {
    const gitdir = this.gitdir();
    try {
      if (/^[0-9a-f]{40}$/i.test(ref)) return ref.toLowerCase();
      return await git.resolveRef({ fs, gitdir, ref });
    } catch (err) {
      throw new SourceError(reason, notFound, { field: 'ref', cause: err });
    }
  }

  /** Annotated tags point to a tag object; follow them to the commit. */
  private async peel(oid: string): Promise<string> {
    let current = oid;
    for (let i = 0; i < 10; i++) {
      const obj = await this.reader.read(current);
      if (!obj) throw new SourceError(Reason.RefNotFound, `object ${current} is missing from ${this.path}`);
      if (obj.type !== 'tag') return current;
      const match = /^object ([0-9a-f]{40})$/m.exec(obj.data.toString('utf8'));
      if (!match) throw new SourceError(Reason.RefNotFound, `tag ${current} in ${this.path} is malformed`);
      current = match[1]!;
    }
    throw new SourceError(Reason.RefNotFound, `tag ${oid} in ${this.path} nests too deeply`);
  }

  async isAncestor(ancestor: string, descendant: string, signal?: AbortSignal): Promise<boolean | undefined> {
    return isAncestorIn(this.reader, ancestor, descendant, signal);
  }

  async readSignature(sha: string): Promise<{ signature?: string; payload: string }> {
    const obj = await this.reader.read(sha);
    if (obj?.type !== 'commit') throw new SourceError(Reason.RefNotFound, `commit ${sha} not found in ${this.path}`);
    return splitSignature(obj.data);
  }
}
