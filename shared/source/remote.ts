/**
 * RemoteSource: reads a commit's tree from a smart HTTP(S) Git remote. Shallow (depth 1), one ref, no tags, no
 * checkout. isomorphic-git does ref discovery and authentication (`onAuth`); the pack request is one POST whose
 * pack is parsed in memory within the size limits (see pack.ts, limits.ts). The cached heads are sent as `have` and
 * `shallow` lines, so after one new commit the server sends a thin pack holding only the new objects.
 *
 * The token goes only to the origin of the configured URL, and only over https (or plain http to a loopback address,
 * for tests and local servers). Ref discovery follows redirects as git does (`http.followRedirects=initial`): the
 * pack is then asked from where discovery landed, with the token only if that is still the configured origin.
 */
import { Errors, getRemoteInfo2 } from 'isomorphic-git';
import { Reason, SourceError } from '../errors.ts';
import type { FetchOptions, RepoSnapshot, Source } from '../ports.ts';
import { registerSecret } from '../sanitize.ts';
import { type CacheState, cacheKey, type Fetched, loadCache, nextState, saveCache, withLock } from './cache.ts';
import { commitUrl, displayUrl } from './commit-url.ts';
import { isAncestorIn } from './history.ts';
import { isoGitHttp, ResponseTooLarge, send, TransportError } from './http.ts';
import { formatBytes, limitVariables, ObjectTooLarge, type SourceLimits, sourceLimits } from './limits.ts';
import { type GitObject, leftOutUnder, loadObject, parseCommit, type StoredObject, splitSignature } from './objects.ts';
import type { SourceOptions } from './options.ts';
import { PackError, readPack } from './pack.ts';
import {
  isCompleteAdvertisement,
  ProtocolError,
  parseUploadPackResponse,
  RemoteError,
  uploadPackRequest,
} from './protocol.ts';
import { type AsyncObjectReader, commitInfo, listTree, makeSnapshot } from './snapshot.ts';

const capabilities = ['side-band-64k', 'thin-pack', 'ofs-delta', 'shallow', 'no-progress', 'agent=lambda-gitops/1'];

const DEFAULT_HISTORY_DEPTH = 1_000;

/** Depths to deepen to, growing, up to `max`: most answers need a few commits, a few need many. */
function deepeningSteps(max: number): number[] {
  // A bound of 1 is the fetch itself: nothing to deepen.
  return [...new Set([16, 128, max].filter((d) => d > 1 && d <= max))].sort((a, b) => a - b);
}

interface RemoteRef {
  readonly ref: string;
  readonly oid: string;
  readonly target?: string;
  readonly peeled?: string;
}

const maxRedirects = 5;
const discoverySuffix = '/info/refs?service=git-upload-pack';

/** Objects read from the store; one kept compressed is inflated on each read, within the per-object limit. */
function storeReader(objects: ReadonlyMap<string, StoredObject>, limits: SourceLimits): AsyncObjectReader {
  return {
    read: async (oid) => {
      const obj = objects.get(oid);
      return obj && loadObject(oid, obj, limits.maxObjectBytes);
    },
  };
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function withoutAuthorization(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

export class RemoteSource implements Source {
  /** The URL without credentials, as events and errors show it. */
  readonly url: string;
  private readonly key: string;
  private readonly origin: string;
  private readonly limits: SourceLimits;
  private state: CacheState | undefined;
  /** The Authorization header the last ref discovery settled on, for the history requests that follow it. */
  private authorization: string | undefined;
  /** Commits fetched to walk ancestry beyond the shallow cache, by id (commits only: no trees, no blobs). */
  private readonly history = new Map<string, GitObject>();

  constructor(
    url: string,
    private readonly options: SourceOptions = {},
  ) {
    this.url = displayUrl(url);
    this.key = cacheKey(this.url);
    this.origin = new URL(this.url).origin;
    this.limits = sourceLimits(options.limits);
  }

  /** Whether the token may go with a request to `url`: the configured origin, over https or to a loopback address. */
  private tokenAllowed(url: string): boolean {
    const target = new URL(url);
    return target.origin === this.origin && (target.protocol === 'https:' || isLoopback(target.hostname));
  }

  /** Refuses a token-bearing fetch over plain http to another machine before any request is made. */
  private async refuseInsecureToken(): Promise<void> {
    const url = new URL(this.url);
    if (url.protocol === 'https:' || isLoopback(url.hostname) || !this.options.token) return;
    if (!(await this.options.token())) return;
    throw new SourceError(
      Reason.AuthFailed,
      `the git token is not sent over plain http to ${url.host}; use the https URL of ${this.url}`,
      { field: 'repo' },
    );
  }

  async fetch(options: FetchOptions = {}): Promise<RepoSnapshot> {
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    return withLock(this.key, async () => {
      try {
        return await this.fetchLocked(options.ref, signal);
      } catch (err) {
        throw this.toSourceError(err, options.ref, deadline.aborted ? timeoutMs : undefined);
      }
    });
  }

  private async fetchLocked(wanted: string | undefined, signal: AbortSignal): Promise<RepoSnapshot> {
    await this.refuseInsecureToken();
    let authorization: string | undefined;
    // The advertisement is kept to check it arrived whole: a cut-off one would read as an empty repository.
    let advertisement: Uint8Array | undefined;
    // Where ref discovery landed after redirects: the pack is asked from there.
    let base = this.url;
    const http = isoGitHttp(signal, this.limits.maxResponseBytes);
    const info = await getRemoteInfo2({
      http: {
        request: async (req) => {
          let url = req.url;
          let res = await http.request({ ...req, headers: this.headersFor(url, req.headers) });
          for (let hop = 0; isRedirect(res.statusCode) && res.headers?.location; hop++) {
            if (hop >= maxRedirects) throw new SourceError(Reason.FetchFailed, `${this.url} redirects too many times`);
            for await (const _ of res.body ?? []);
            url = new URL(res.headers.location!, url).toString();
            if (!/^https?:$/.test(new URL(url).protocol)) {
              throw new SourceError(Reason.FetchFailed, `${this.url} redirects to a URL that is not http(s)`);
            }
            res = await http.request({ ...req, url, headers: this.headersFor(url, req.headers) });
          }
          if (!url.endsWith(discoverySuffix)) {
            throw new SourceError(
              Reason.FetchFailed,
              `${this.url} redirects to ${url}, which is not a Git repository URL`,
            );
          }
          base = url.slice(0, -discoverySuffix.length);
          const chunks: Uint8Array[] = [];
          for await (const chunk of res.body ?? []) chunks.push(chunk);
          const body = Buffer.concat(chunks);
          if (res.statusCode === 200) advertisement = body;
          return {
            ...res,
            body: (async function* () {
              yield new Uint8Array(body.buffer, body.byteOffset, body.length);
            })(),
          };
        },
      },
      url: this.url,
      protocolVersion: 1,
      onAuth: async () => {
        if (!this.tokenAllowed(base)) {
          // A redirect to another origin (or to plain http) that asks for credentials: the token stays here.
          throw new SourceError(
            Reason.AuthFailed,
            `${this.url} redirected to ${new URL(base).origin}, which asks for credentials; the git token is sent only to ${this.origin}`,
          );
        }
        const token = await this.options.token?.();
        if (!token) return undefined;
        registerSecret(token);
        // `user:password` is how CodeCommit HTTPS Git credentials and Bitbucket app passwords come; a bare token
        // (GitHub, GitLab) goes with the conventional `x-access-token` user.
        const split = !this.options.username && token.includes(':') ? token.indexOf(':') : -1;
        const username = split > 0 ? token.slice(0, split) : (this.options.username ?? 'x-access-token');
        const password = split > 0 ? token.slice(split + 1) : token;
        registerSecret(password);
        authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
        return { username, password };
      },
    });
    this.authorization = authorization;
    if (advertisement && !isCompleteAdvertisement(advertisement)) {
      throw new SourceError(Reason.FetchFailed, `the ref advertisement of ${this.url} was cut off`, {
        retryable: true,
      });
    }
    const refs = (info.refs ?? []) as RemoteRef[];
    if (refs.length === 0) throw new SourceError(Reason.EmptyRepository, `${this.url} has no commits yet`);
    const { ref, branch, oid } = this.resolveRef(refs, wanted);

    let state = loadCache(this.key, this.options.cacheDir);
    for (const obj of state.objects.values()) {
      if (!leftOutUnder(obj, this.limits.maxObjectBytes)) continue;
      // Files were left out under a smaller limit than now: fetch everything again rather than keep them unreadable.
      state = { heads: new Map(), objects: new Map() };
      break;
    }
    let oversized = 0;
    if (!state.objects.has(oid)) {
      const fetched = await this.download(base, oid, state, authorization, signal);
      oversized = fetched.oversized;
      state = nextState(state, fetched, ref, oid);
      saveCache(this.key, this.options.cacheDir, state);
    } else if (state.heads.get(ref) !== oid) {
      state = nextState(state, { objects: new Map(), oversized: 0, objectLimit: this.limits.maxObjectBytes }, ref, oid);
      saveCache(this.key, this.options.cacheDir, state);
    }
    this.state = state;
    const objects = state.objects;
    const commitObj = objects.get(oid);
    if ((commitObj?.type !== 'commit' || !('data' in commitObj)) && oversized > 0) {
      // Only blobs may be left out: a commit or tree over the limit leaves nothing to list.
      throw new SourceError(
        Reason.FetchTooLarge,
        `fetching ${this.url}: commit ${oid} or one of its folders is over the limit of ${formatBytes(this.limits.maxObjectBytes)} per object (${limitVariables.maxObjectBytes})`,
      );
    }
    if (commitObj?.type !== 'commit' || !('data' in commitObj)) {
      throw new SourceError(Reason.FetchFailed, `${this.url}: the pack did not hold commit ${oid}`, {
        retryable: true,
      });
    }
    const commit = parseCommit(commitObj.data);
    const reader = storeReader(objects, this.limits);
    const entries = await listTree(reader, commit.tree);
    return makeSnapshot({
      repo: this.url,
      branch,
      commit: commitInfo(oid, commit, commitUrl(this.url, oid)),
      tree: commit.tree,
      reader,
      entries,
    });
  }

  /** Branch name, tag, full ref or commit id → the ref to remember, the branch label and the commit to want. */
  private resolveRef(
    refs: readonly RemoteRef[],
    wanted: string | undefined,
  ): { ref: string; branch: string; oid: string } {
    const byName = new Map(refs.map((r) => [r.ref, r]));
    const pick = (r: RemoteRef, branch: string) => ({ ref: r.ref, branch, oid: r.peeled ?? r.oid });
    if (wanted === undefined) {
      const head = byName.get('HEAD');
      const target = head?.target ? byName.get(head.target) : undefined;
      if (target && head?.target) return pick(target, head.target.replace(/^refs\/heads\//, ''));
      const same = head && refs.find((r) => r.ref.startsWith('refs/heads/') && r.oid === head.oid);
      if (same) return pick(same, same.ref.replace(/^refs\/heads\//, ''));
      throw new SourceError(Reason.EmptyRepository, `${this.url} has no default branch (HEAD points to no commit)`);
    }
    for (const name of [`refs/heads/${wanted}`, `refs/tags/${wanted}`, wanted]) {
      const r = byName.get(name);
      if (r && name !== 'HEAD') return pick(r, wanted.replace(/^refs\/(heads|tags)\//, ''));
    }
    if (/^[0-9a-f]{40}$/i.test(wanted)) return { ref: wanted.toLowerCase(), branch: wanted, oid: wanted.toLowerCase() };
    throw new SourceError(Reason.RefNotFound, `branch or tag '${wanted}' not found in ${this.url}`, { field: 'ref' });
  }

  /** The request headers for `url`: without any Authorization header unless the token may go there. */
  private headersFor(url: string, headers: Record<string, string> | undefined): Record<string, string> {
    return this.tokenAllowed(url) ? (headers ?? {}) : withoutAuthorization(headers);
  }

  private async download(
    base: string,
    oid: string,
    state: CacheState,
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<Fetched> {
    const cachedHeads = [...new Set(state.heads.values())].filter((h) => state.objects.has(h));
    const body = uploadPackRequest({
      wants: [oid],
      haves: cachedHeads,
      shallows: cachedHeads,
      depth: 1,
      capabilities,
    });
    const res = await send({
      url: `${base}/git-upload-pack`,
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        accept: 'application/x-git-upload-pack-result',
        'user-agent': 'git/lambda-gitops',
        ...(authorization && this.tokenAllowed(base) ? { authorization } : {}),
      },
      body,
      signal,
      maxBytes: this.limits.maxResponseBytes,
    });
    if (res.statusCode !== 200) throw new Errors.HttpError(res.statusCode, res.statusMessage, '');
    const { pack } = parseUploadPackResponse(res.body);
    try {
      return await readPack(pack, this.limits, { get: (id) => state.objects.get(id) }, signal);
    } catch (err) {
      if (!(err instanceof SourceError) || err.reason !== Reason.FetchTooLarge) throw err;
      throw new SourceError(err.reason, `fetching ${this.url}: ${err.message}`, { cause: err });
    }
  }

  private toSourceError(err: unknown, ref: string | undefined, timedOutAfter: number | undefined): SourceError {
    if (err instanceof SourceError) return err;
    const cause = { cause: err };
    if (timedOutAfter !== undefined) {
      return new SourceError(Reason.FetchFailed, `fetching ${this.url} timed out after ${timedOutAfter} ms`, {
        retryable: true,
        ...cause,
      });
    }
    if (err instanceof ResponseTooLarge) {
      return new SourceError(
        Reason.FetchTooLarge,
        `fetching ${this.url}: the response from ${err.url} is over the limit of ${formatBytes(err.limit)} (${limitVariables.maxResponseBytes})`,
        cause,
      );
    }
    if (err instanceof ObjectTooLarge) {
      return new SourceError(
        Reason.FetchTooLarge,
        `fetching ${this.url}: object ${err.oid} is over the limit of ${formatBytes(err.limit)} per object (${limitVariables.maxObjectBytes})`,
        cause,
      );
    }
    if (err instanceof TransportError) {
      return new SourceError(Reason.FetchFailed, `fetching ${this.url}: ${err.message}`, { retryable: true, ...cause });
    }
    if (err instanceof Errors.HttpError) {
      const status = err.data.statusCode;
      if (status === 404) return new SourceError(Reason.RepositoryNotFound, `repository ${this.url} not found`, cause);
      if (status === 401 || status === 403) {
        return new SourceError(
          Reason.AuthFailed,
          `authentication to ${this.url} failed (HTTP ${status}); check the token and its access to the repository`,
          cause,
        );
      }
      const retryable = status >= 500 || status === 429 || status === 408;
      return new SourceError(Reason.FetchFailed, `fetching ${this.url} failed: HTTP ${status}`, {
        retryable,
        ...cause,
      });
    }
    if (err instanceof Errors.SmartHttpError) {
      return new SourceError(Reason.RepositoryNotFound, `${this.url} is not a Git smart HTTP endpoint`, cause);
    }
    if (err instanceof RemoteError && /not our ref/.test(err.message)) {
      return new SourceError(Reason.RefNotFound, `commit ${ref} is not available from ${this.url}`, {
        field: 'ref',
        ...cause,
      });
    }
    if (err instanceof PackError || err instanceof ProtocolError || err instanceof RemoteError) {
      return new SourceError(Reason.FetchFailed, `fetching ${this.url}: ${err.message}`, { retryable: true, ...cause });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new SourceError(Reason.FetchFailed, `fetching ${this.url}: ${message}`, { retryable: true, ...cause });
  }

  private objects(): ReadonlyMap<string, StoredObject> {
    return (this.state ?? loadCache(this.key, this.options.cacheDir)).objects;
  }

  /**
   * Ancestry over the shallow cache, deepened as far as needed: when the walk from `descendant` reaches the shallow
   * boundary without an answer, more history is fetched (16, 128, then up to `maxHistoryDepth` commits behind it) and
   * the walk is tried again. Only the commits are kept (in memory, for this source's life), not their trees.
   */
  async isAncestor(ancestor: string, descendant: string, signal?: AbortSignal): Promise<boolean | undefined> {
    const reader: AsyncObjectReader = {
      read: async (oid) => (await storeReader(this.objects(), this.limits).read(oid)) ?? this.history.get(oid),
    };
    let answer = await isAncestorIn(reader, ancestor, descendant, signal);
    const max = Math.max(1, Math.floor(this.options.maxHistoryDepth ?? DEFAULT_HISTORY_DEPTH));
    for (const depth of deepeningSteps(max)) {
      if (answer !== undefined) return answer;
      if (!(await this.deepen(descendant, depth, max, signal))) return undefined;
      answer = await isAncestorIn(reader, ancestor, descendant, signal);
    }
    return answer;
  }

  /**
   * Fetches `oid` with `depth` commits of history and keeps the commits. False when nothing could be fetched (the
   * server does not give that commit, the network failed): ancestry then stays unknown rather than failing a sync.
   */
  private async deepen(oid: string, depth: number, max: number, signal?: AbortSignal): Promise<boolean> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 60_000);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return withLock(this.key, async () => {
      try {
        // A cached head is held whole (commit and tree) at a shallow boundary: saying so gets a thin pack of only what
        // the older commits add (3 KB instead of 50 KB for 16 commits of a 500-file repository).
        const cached = [...(this.state ?? loadCache(this.key, this.options.cacheDir)).heads.values()].includes(oid);
        const body = uploadPackRequest({
          wants: [oid],
          haves: cached ? [oid] : [],
          shallows: cached ? [oid] : [],
          depth,
          capabilities,
        });
        const res = await send({
          url: `${this.url}/git-upload-pack`,
          method: 'POST',
          headers: {
            'content-type': 'application/x-git-upload-pack-request',
            accept: 'application/x-git-upload-pack-result',
            'user-agent': 'git/lambda-gitops',
            // The same origin rule as the fetch: the token goes to the configured origin only.
            ...(this.authorization && this.tokenAllowed(this.url) ? { authorization: this.authorization } : {}),
          },
          body,
          signal: bounded,
          maxBytes: this.limits.maxResponseBytes,
        });
        if (res.statusCode !== 200) return false;
        const known = this.objects();
        const { pack } = parseUploadPackResponse(res.body);
        // Within the same size limits as any fetch; history commits are whole objects (never left out).
        const { objects } = await readPack(
          pack,
          this.limits,
          { get: (id) => known.get(id) ?? this.history.get(id) },
          bounded,
        );
        // Bounded memory: a source that walked many unrelated histories starts again.
        if (this.history.size > 4 * max) this.history.clear();
        let added = 0;
        for (const [id, obj] of objects) {
          if (obj.type !== 'commit' || !('data' in obj) || this.history.has(id)) continue;
          this.history.set(id, loadObject(id, obj, this.limits.maxObjectBytes));
          added++;
        }
        return added > 0;
      } catch {
        // A deadline of the caller still ends the caller; anything else only leaves the order unknown.
        signal?.throwIfAborted();
        return false;
      }
    });
  }

  async readSignature(sha: string): Promise<{ signature?: string; payload: string }> {
    const obj = this.objects().get(sha);
    if (obj?.type !== 'commit' || !('data' in obj)) {
      throw new SourceError(Reason.RefNotFound, `commit ${sha} has not been fetched from ${this.url}`);
    }
    return splitSignature(obj.data);
  }
}
