/**
 * One place that builds SDK clients for a target (region, optional role in another account). A role is assumed with
 * STS AssumeRole and its credentials are cached until five minutes before they expire, so a warm Lambda applying
 * twenty stacks in one account assumes the role once per session name, not once per call.
 *
 * Both caches are bounded: a session name carries the stack and the commit, so a warm Lambda sees new keys for as
 * long as it lives. Clients are kept least-recently-used up to `maxClients`; credentials are dropped once expired and
 * kept least-recently-used up to `maxCredentials`.
 *
 * The SDK's own retries are off (`maxAttempts: 1`) for the CloudFormation and CloudWatch clients: the applier and the
 * drift detector retry throttling and transient faults themselves, with backoff through the injected clock and a
 * deadline. Both retrying multiplied the tries (3 SDK attempts inside each of 6 of ours) and hid the waits from the
 * clock.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { systemClock } from '../../clock.ts';
import { ApplyError, Reason } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { errorMessage, errorName, isTransient } from './aws-errors.ts';

/** Where calls go: a region, and the role to assume there when the stack lives in another account. */
export interface AwsTarget {
  readonly region: string;
  readonly role?: string;
  readonly externalId?: string;
  /** RoleSessionName for AssumeRole; see `roleSessionName`. @default `lambda-gitops` */
  readonly sessionName?: string;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** What the applier and the drift detector need: clients for a target. Tests may pass their own. */
export interface CloudFormationClients {
  cloudFormation(target: AwsTarget): CloudFormationClient;
  cloudWatch(target: AwsTarget): CloudWatchClient;
}

export interface AwsClientFactoryOptions {
  /** STS client per region. @default a new STSClient for the region, with the default credential chain */
  readonly sts?: (region: string) => STSClient;
  readonly clock?: Clock;
  /** Credentials are refreshed this long before they expire. @default 5 minutes */
  readonly refreshBeforeMs?: number;
  /** Role session length in seconds. @default 3600 */
  readonly durationSeconds?: number;
  /** Extra configuration for every client (endpoint, maxAttempts, requestHandler). */
  readonly clientConfig?: { readonly maxAttempts?: number; readonly endpoint?: string };
  /** Clients kept (least recently used are dropped). @default 64 */
  readonly maxClients?: number;
  /** Assumed-role credentials kept (expired ones are dropped first). @default 128 */
  readonly maxCredentials?: number;
}

/** A Map that forgets its least recently used entry beyond `limit`. */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the end: Map keeps insertion order, so the first key is the least recent.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#limit) {
      const oldest = this.#entries.keys().next().value as K;
      this.#entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  entries(): IterableIterator<[K, V]> {
    return this.#entries.entries();
  }
}

const SESSION_NAME_MAX = 64;

/**
 * A RoleSessionName that names the stack and the short commit, so CloudTrail shows which sync made a call.
 * AssumeRole allows 2 to 64 characters of `[\w+=,.@-]`; anything else becomes `-`.
 */
export function roleSessionName(stack: string, commit?: string): string {
  const short = commit ? commit.slice(0, 7) : '';
  const suffix = short ? `-${short}` : '';
  const room = SESSION_NAME_MAX - 'gitops-'.length - suffix.length;
  const cleaned = stack
    .replace(/[^\w+=,.@-]/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, Math.max(room, 1));
  const name = `gitops-${cleaned}${suffix}`.replace(/[^\w+=,.@-]/g, '-');
  return name.slice(0, SESSION_NAME_MAX);
}

interface CachedCredentials {
  credentials?: AwsCredentials;
  pending?: Promise<AwsCredentials>;
}

export class AwsClientFactory implements CloudFormationClients {
  readonly #sts: (region: string) => STSClient;
  readonly #clock: Clock;
  readonly #refreshBeforeMs: number;
  readonly #durationSeconds: number;
  readonly #clientConfig: AwsClientFactoryOptions['clientConfig'];
  readonly #stsClients = new Map<string, STSClient>();
  readonly #credentials: LruMap<string, CachedCredentials>;
  readonly #clients: LruMap<string, CloudFormationClient | CloudWatchClient | S3Client>;
  /** AssumeRole calls made; the benchmark and tests read it. */
  assumeRoleCalls = 0;

  constructor(options: AwsClientFactoryOptions = {}) {
    this.#sts =
      options.sts ??
      ((region) => {
        let client = this.#stsClients.get(region);
        if (!client) {
          client = new STSClient({ region });
          this.#stsClients.set(region, client);
        }
        return client;
      });
    this.#clock = options.clock ?? systemClock;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 5 * 60_000;
    this.#durationSeconds = options.durationSeconds ?? 3600;
    this.#clientConfig = options.clientConfig;
    this.#clients = new LruMap(options.maxClients ?? 64);
    this.#credentials = new LruMap(options.maxCredentials ?? 128);
  }

  /** Clients held now (bounded by `maxClients`). */
  get cachedClients(): number {
    return this.#clients.size;
  }

  /** Credential entries held now (bounded by `maxCredentials`, expired ones dropped). */
  get cachedCredentials(): number {
    return this.#credentials.size;
  }

  cloudFormation(target: AwsTarget): CloudFormationClient {
    return this.#client('cloudformation', target, (config) => new CloudFormationClient(config), true);
  }

  cloudWatch(target: AwsTarget): CloudWatchClient {
    return this.#client('cloudwatch', target, (config) => new CloudWatchClient(config), true);
  }

  s3(target: AwsTarget): S3Client {
    return this.#client('s3', target, (config) => new S3Client(config));
  }

  /**
   * A credential provider for the target: undefined without a role (the SDK's default chain), else one that assumes
   * the role and reuses the credentials until `refreshBeforeMs` before they expire.
   */
  credentialsFor(target: AwsTarget): (() => Promise<AwsCredentials>) | undefined {
    if (!target.role) return undefined;
    return () => this.#assume(target);
  }

  #client<C>(
    service: string,
    target: AwsTarget,
    make: (config: Record<string, unknown>) => C,
    retriedByCaller = false,
  ): C {
    const key = [service, target.region, target.role ?? '', target.externalId ?? '', target.sessionName ?? ''].join(
      '|',
    );
    const existing = this.#clients.get(key);
    if (existing) return existing as C;
    // An evicted client is not destroyed: a call may still be in flight on it; its idle sockets close on their own.
    const config: Record<string, unknown> = {
      region: target.region,
      ...(retriedByCaller ? { maxAttempts: 1 } : {}),
      ...this.#clientConfig,
    };
    const credentials = this.credentialsFor(target);
    if (credentials) config['credentials'] = credentials;
    const client = make(config);
    this.#clients.set(key, client as CloudFormationClient);
    return client;
  }

  async #assume(target: AwsTarget): Promise<AwsCredentials> {
    const role = target.role as string;
    const sessionName = target.sessionName ?? 'lambda-gitops';
    const key = [role, target.externalId ?? '', sessionName].join('|');
    const now = this.#clock.now().getTime();
    this.#dropExpired(now);
    let entry = this.#credentials.get(key);
    if (!entry) {
      entry = {};
      this.#credentials.set(key, entry);
    }
    const cached = entry.credentials;
    if (cached && (!cached.expiration || cached.expiration.getTime() - this.#refreshBeforeMs > now)) return cached;
    // Concurrent callers share one AssumeRole call.
    if (entry.pending) return entry.pending;
    const current = entry;
    current.pending = this.#callAssumeRole(target.region, role, sessionName, target.externalId).finally(() => {
      delete current.pending;
    });
    current.credentials = await current.pending;
    return current.credentials;
  }

  #dropExpired(now: number): void {
    for (const [key, entry] of [...this.#credentials.entries()]) {
      const expiration = entry.credentials?.expiration?.getTime();
      if (!entry.pending && expiration !== undefined && expiration <= now) this.#credentials.delete(key);
    }
  }

  async #callAssumeRole(region: string, role: string, sessionName: string, externalId?: string) {
    this.assumeRoleCalls++;
    try {
      const out = await this.#sts(region).send(
        new AssumeRoleCommand({
          RoleArn: role,
          RoleSessionName: sessionName,
          DurationSeconds: this.#durationSeconds,
          ...(externalId ? { ExternalId: externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) {
        throw new ApplyError(Reason.AuthFailed, `AssumeRole ${role} returned no credentials`);
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
      } satisfies AwsCredentials;
    } catch (err) {
      if (err instanceof ApplyError) throw err;
      throw new ApplyError(Reason.AuthFailed, `cannot assume role ${role}: ${errorName(err)}: ${errorMessage(err)}`, {
        retryable: isTransient(err),
        cause: err,
      });
    }
  }
}
