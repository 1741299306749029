import type { SourceLimits } from './limits.ts';

export interface SourceOptions {
  /**
   * Where fetched objects are kept between fetches (and processes), so the next fetch transfers only new objects.
   * @default no disk cache; objects are still kept in memory for the life of the process
   */
  readonly cacheDir?: string;
  /**
   * The token sent as the HTTP Basic password, asked for only when the server requires authentication. It is sent
   * only to the origin of the repository URL, and only over https (plain http to a loopback address only).
   */
  readonly token?: () => Promise<string | undefined>;
  /** The Basic username sent with the token. @default 'x-access-token' (GitHub, GitLab and Bitbucket accept it) */
  readonly username?: string;
  /** Deadline of one fetch (ref discovery and pack download together). @default 60000 */
  readonly timeoutMs?: number;
  /** Size limits of a fetch (each also settable in the environment; see limits.ts). @default sized to memory */
  readonly limits?: Partial<SourceLimits>;
  /**
   * How many commits of history a remote source may fetch to tell which of two commits is the newer (a shallow fetch
   * has none): it deepens step by step up to this many commits behind the one it walks from, then gives up and says
   * "unknown", and the engine applies the branch head. `GITOPS_HISTORY_DEPTH` sets it for the CLI and the functions.
   * @default 1000
   */
  readonly maxHistoryDepth?: number;
}

/**
 * `GITOPS_HISTORY_DEPTH` as a history bound: a positive whole number, at most 100,000 commits; anything else is the
 * default (undefined).
 */
export function historyDepthFrom(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env['GITOPS_HISTORY_DEPTH'];
  if (raw === undefined || !/^\d{1,6}$/.test(raw.trim())) return undefined;
  const depth = Number(raw.trim());
  return depth >= 1 && depth <= 100_000 ? depth : undefined;
}
