/** The Source port: a commit's tree from a Git remote (smart HTTP(S)) or a local repository path. */
import type { Source } from '../ports.ts';
import { LocalSource } from './local.ts';
import type { SourceOptions } from './options.ts';
import { RemoteSource } from './remote.ts';

export { clearMemoryCache } from './cache.ts';
export { commitUrl } from './commit-url.ts';
export { LocalSource } from './local.ts';
export { historyDepthFrom, type SourceOptions } from './options.ts';
export { RemoteSource } from './remote.ts';

/** `repo` is an http(s) URL (read with RemoteSource) or a local path (read with LocalSource). */
export function openSource(repo: string, options: SourceOptions = {}): Source {
  if (/^https?:\/\//i.test(repo)) return new RemoteSource(repo, options);
  return new LocalSource(repo.startsWith('file://') ? new URL(repo).pathname : repo);
}
