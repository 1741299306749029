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
}
