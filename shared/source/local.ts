/**
 * LocalSource: a repository on disk (with a working tree or bare) read at a ref from its object store, so only
 * committed state counts: uncommitted and untracked files are never seen. isomorphic-git reads the store (loose
 * objects, packs through their .idx, packed-refs) with one shared cache, so each pack is loaded once per source.
 */
import * as fs from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import git from 'isomorphic-git';
import { Reason, SourceError } from '../errors.ts';
import type { FetchOptions, RepoSnapshot, Source } from '../ports.ts';
import { isAncestorIn } from './history.ts';
import { ObjectTooLarge, type SourceLimits, sourceLimits } from './limits.ts';
import type { GitObject, ObjectType } from './objects.ts';
import { splitSignature } from './objects.ts';
import { type AsyncObjectReader, commitInfo, listTree, makeSnapshot, readCommit } from './snapshot.ts';

function isObjectType(type: string | undefined): type is ObjectType {
  return type === 'blob' || type === 'tree' || type === 'commit' || type === 'tag';
}

/** Where a repository lives, found the way git finds it. */
interface Location {
  /** The working tree's top folder (or the repository itself when bare): what events show. */
  readonly top: string;
  /** The object store and shared refs (a linked worktree's common dir). */
  readonly gitdir: string;
  /** A linked worktree's own HEAD file, which names its branch; else undefined (HEAD is in `gitdir`). */
  readonly headFile?: string;
}

function readGitFile(dotgit: string, folder: string): string | undefined {
  const match = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotgit, 'utf8'));
  if (!match) return undefined;
  const target = match[1]!.trim();
  return isAbsolute(target) ? target : resolve(folder, target);
}

/**
 * The repository `path` belongs to, as git resolves it: `<folder>/.git` (a folder, or a file pointing elsewhere, as a
 * linked worktree or a submodule has) or a bare repository, in `path` or the nearest folder above it. A linked
 * worktree reads objects and branches from its common dir (named in its `commondir` file) and its HEAD from its own.
 */
function locate(path: string): Location | undefined {
  for (let folder = path; ; folder = dirname(folder)) {
    const dotgit = join(folder, '.git');
    let gitdir: string | undefined;
    try {
      gitdir = fs.statSync(dotgit).isDirectory() ? dotgit : readGitFile(dotgit, folder);
    } catch {
      // no .git entry here: maybe a bare repository
    }
    if (!gitdir && fs.existsSync(join(folder, 'HEAD')) && fs.existsSync(join(folder, 'objects'))) gitdir = folder;
    if (gitdir) {
      let common: string | undefined;
      try {
        common = resolve(gitdir, fs.readFileSync(join(gitdir, 'commondir'), 'utf8').trim());
      } catch {
        // not a linked worktree
      }
      return common ? { top: folder, gitdir: common, headFile: join(gitdir, 'HEAD') } : { top: folder, gitdir };
    }
    if (dirname(folder) === folder) return undefined;
  }
}

export class LocalSource implements Source {
  /** The absolute path of the repository's top folder (the path given, if it is in no repository), as events show it. */
  readonly path: string;
  private readonly cache = {};
  private readonly reader: AsyncObjectReader;
  private readonly location: Location | undefined;
  private readonly given: string;
  private readonly maxObjectBytes: number;

  constructor(path: string, limits: Partial<SourceLimits> = {}) {
    this.given = resolve(path);
    this.maxObjectBytes = sourceLimits(limits).maxObjectBytes;
    // A path that does not exist is an error, as for `git -C`, not a reason to read whichever repository is above it.
    this.location = fs.existsSync(this.given) ? locate(this.given) : undefined;
    this.path = this.location?.top ?? this.given;
    this.reader = {
      read: async (oid) => {
        const loose = this.readLoose(oid);
        if (loose) return loose;
        try {
          const res = await git.readObject({ fs, gitdir: this.gitdir(), oid, format: 'content', cache: this.cache });
          const data = res.object as Uint8Array;
          // isomorphic-git inflates a packed object whole; the limit still keeps it from the engine.
          if (data.byteLength > this.maxObjectBytes)
            throw new ObjectTooLarge(oid, data.byteLength, this.maxObjectBytes);
          return {
            type: res.type as ObjectType,
            data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          } satisfies GitObject;
        } catch (err) {
          if (err instanceof ObjectTooLarge) throw err;
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
      raw = inflateSync(fs.readFileSync(join(this.gitdir(), 'objects', oid.slice(0, 2), oid.slice(2))), {
        // The header (`blob <size>\0`) and at most the per-object limit: a larger object stops inflating there.
        maxOutputLength: this.maxObjectBytes + 32,
      });
    } catch (err) {
      if (err instanceof SourceError) throw err;
      if (err instanceof RangeError) throw new ObjectTooLarge(oid, undefined, this.maxObjectBytes);
      return undefined;
    }
    const nul = raw.indexOf(0);
    const [type, size] = raw.toString('latin1', 0, nul).split(' ');
    const data = raw.subarray(nul + 1);
    if (!isObjectType(type) || Number(size) !== data.length) return undefined;
    return { type, data };
  }

  private gitdir(): string {
    if (!this.location) {
      const why = fs.existsSync(this.given) ? 'is not in a Git repository (nor any folder above it)' : 'does not exist';
      throw new SourceError(Reason.RepositoryNotFound, `${this.given} ${why}`);
    }
    return this.location.gitdir;
  }

  /** HEAD as a ref to resolve in the store: a linked worktree's own HEAD (its branch, or a detached commit). */
  private head(): { ref: string; branch: string | undefined } | undefined {
    const headFile = this.location?.headFile;
    if (!headFile) return undefined;
    let text: string;
    try {
      text = fs.readFileSync(headFile, 'utf8').trim();
    } catch {
      return undefined;
    }
    const symbolic = /^ref:\s*(\S+)$/.exec(text);
    if (symbolic) return { ref: symbolic[1]!, branch: symbolic[1]!.replace(/^refs\/heads\//, '') };
    return { ref: text, branch: undefined };
  }

  async fetch(options: FetchOptions = {}): Promise<RepoSnapshot> {
    options.signal?.throwIfAborted();
    const gitdir = this.gitdir();
    let branch: string;
    let oid: string;
    const worktreeHead = options.ref === undefined ? this.head() : undefined;
    if (worktreeHead) {
      branch = worktreeHead.branch ?? 'HEAD';
      oid = await this.resolve(worktreeHead.ref, `${this.path} has no commits yet`, Reason.EmptyRepository);
    } else if (options.ref === undefined) {
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
