/** A RepoSnapshot held in memory for tests: a Map of path → content, blob ids computed as Git does. */
import { createHash } from 'node:crypto';
import { SourceError } from '../../shared/errors.ts';
import type { RepoSnapshot, TreeEntry } from '../../shared/ports.ts';

/** A file, or a symbolic link whose target is `link`. */
export type MemoryFile = string | { readonly link: string };

export function gitBlobOid(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
    .digest('hex');
}

export function memorySnapshot(
  files: Readonly<Record<string, MemoryFile>>,
  options: { branch?: string; sha?: string } = {},
): RepoSnapshot & { reads: string[] } {
  const entries: TreeEntry[] = Object.entries(files)
    .map(([path, file]) => {
      const content = typeof file === 'string' ? file : file.link;
      return { path, oid: gitBlobOid(content), mode: typeof file === 'string' ? '100644' : '120000' };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const reads: string[] = [];
  return {
    repo: 'https://git.example.com/acme/infra.git',
    branch: options.branch ?? 'main',
    commit: { sha: options.sha ?? 'a'.repeat(40), message: 'test commit' },
    reads,
    list: async () => entries,
    readFile: async (path: string) => {
      const file = files[path];
      if (file === undefined) throw new SourceError('MissingFile', `no file ${path}`);
      reads.push(path);
      return new TextEncoder().encode(typeof file === 'string' ? file : file.link);
    },
  };
}
