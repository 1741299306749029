/**
 * The snapshot's tree as the config loader and renderer see it: a path index, and path resolution that keeps every
 * manifest path inside the repository. Symlinks are followed as Git stores them (the blob holds the target), one
 * component at a time, so a symlinked folder works and a link pointing outside the tree is refused.
 */
import { ConfigError, Reason } from '../errors.ts';
import type { RepoSnapshot, TreeEntry } from '../ports.ts';

const SYMLINK_MODE = '120000';
/** As Linux's ELOOP limit: more links than this in one path is a loop. */
const MAX_SYMLINK_HOPS = 40;

/** Where a path was written, for error messages. */
export interface PathOrigin {
  /** The manifest that holds the path (`gitops.yaml`, a deployment file). */
  readonly file: string;
  /** Field path, e.g. `stacks[2].template` or `template-file-path`. */
  readonly field: string;
  readonly line?: number;
}

export interface ResolvedPath {
  /** The file the path ends at, symlinks followed. */
  readonly entry: TreeEntry;
  /** Every tree entry read on the way (symlinks and the file), for incremental-render inputs. */
  readonly via: readonly TreeEntry[];
}

export class RepoTree {
  private readonly entries: ReadonlyMap<string, TreeEntry>;
  private readonly linkTargets = new Map<string, string>();

  private constructor(
    readonly snapshot: RepoSnapshot,
    list: readonly TreeEntry[],
  ) {
    this.entries = new Map(list.map((e) => [e.path, e]));
  }

  static async of(snapshot: RepoSnapshot): Promise<RepoTree> {
    return new RepoTree(snapshot, await snapshot.list());
  }

  get(path: string): TreeEntry | undefined {
    return this.entries.get(path);
  }

  /** Every regular file (symlinks excluded), in the snapshot's order. */
  files(): TreeEntry[] {
    return [...this.entries.values()].filter((e) => e.mode !== SYMLINK_MODE);
  }

  /** Every entry (files and symbolic links) below the folder `dir`, sorted by path; none when it is no folder. */
  under(dir: string): TreeEntry[] {
    const prefix = `${dir}/`;
    return [...this.entries.values()]
      .filter((e) => e.path.startsWith(prefix))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.snapshot.readFile(path));
  }

  /**
   * Resolves a manifest path to a file of the tree. Throws ConfigError `PathEscape` for absolute paths, `..`
   * segments and symlinks that leave the repository; `MissingFile` when nothing is there.
   */
  async resolve(path: string, origin: PathOrigin): Promise<ResolvedPath> {
    let remaining = checkRelativePath(path, origin);
    let resolved: string[] = [];
    const via: TreeEntry[] = [];
    let hops = 0;
    while (remaining.length > 0) {
      const [segment, ...rest] = remaining as [string, ...string[]];
      const candidate = [...resolved, segment].join('/');
      const entry = this.entries.get(candidate);
      if (entry?.mode !== SYMLINK_MODE) {
        resolved.push(segment);
        remaining = rest;
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) {
        throw pathError(Reason.PathEscape, origin, path, `too many symbolic links (a loop?) at "${candidate}"`);
      }
      via.push(entry);
      const target = await this.linkTarget(candidate);
      if (target.startsWith('/') || /^[A-Za-z]:[\\/]/.test(target)) {
        throw pathError(Reason.PathEscape, origin, path, `symbolic link "${candidate}" points outside the repository`);
      }
      const joined = normalizeWithin([...resolved, ...target.split('/')]);
      if (!joined) {
        throw pathError(Reason.PathEscape, origin, path, `symbolic link "${candidate}" points outside the repository`);
      }
      // Start again from the root: the target may itself go through other links.
      resolved = [];
      remaining = [...joined, ...rest];
    }
    const final = resolved.join('/');
    const entry = this.entries.get(final);
    if (!entry) {
      const shown = final === path ? `"${path}"` : `"${path}" (resolved to "${final}")`;
      throw pathError(Reason.MissingFile, origin, path, `file ${shown} does not exist in the repository`);
    }
    via.push(entry);
    return { entry, via };
  }

  private async linkTarget(path: string): Promise<string> {
    let target = this.linkTargets.get(path);
    if (target === undefined) {
      target = (await this.readText(path)).trim();
      this.linkTargets.set(path, target);
    }
    return target;
  }
}

/**
 * Checks a manifest path's syntax and returns its segments: relative, `/`-separated, without `..`. `./a//b` is
 * accepted as `a/b`.
 */
export function checkRelativePath(path: string, origin: PathOrigin): string[] {
  if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\')) {
    throw pathError(Reason.PathEscape, origin, path, `path "${path}" is absolute; use a path from the repository root`);
  }
  const segments = path.split(/[\\/]/).filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw pathError(Reason.PathEscape, origin, path, `path "${path}" uses ".."; paths must stay inside the repository`);
  }
  if (segments.length === 0) throw pathError(Reason.InvalidConfig, origin, path, 'empty path');
  return segments;
}

/** The normalized form of a checked relative path. */
export function normalizeRelativePath(path: string, origin: PathOrigin): string {
  return checkRelativePath(path, origin).join('/');
}

/** Resolves `.` and `..` relative to the root; undefined when `..` would climb above it. */
function normalizeWithin(segments: readonly string[]): string[] | undefined {
  const out: string[] = [];
  for (const s of segments) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(s);
  }
  return out;
}

export function pathError(reason: Reason, origin: PathOrigin, path: string, message: string): ConfigError {
  const where = origin.line ? `${origin.file}:${origin.line}` : origin.file;
  return new ConfigError(reason, `${where}: ${origin.field}: ${message}`, {
    file: origin.file,
    field: origin.field,
    ...(origin.line ? { line: origin.line } : {}),
    cause: { path },
  });
}
