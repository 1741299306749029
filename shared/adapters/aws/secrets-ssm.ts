/**
 * Secrets from SSM Parameter Store (SecureString, decrypted). `webhook-secret` is read from `<prefix>/webhook-secret`;
 * a name starting with `/` is a full parameter name. Values are cached for a TTL (a warm Lambda does not call SSM on
 * every webhook) and registered with `sanitize` so they never reach a log or an event.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { systemClock } from '../../clock.ts';
import { GitOpsError, Reason } from '../../errors.ts';
import type { Clock, SecretName, Secrets } from '../../ports.ts';
import { registerSecret } from '../../sanitize.ts';
import { errorMessage, errorName, isTransient } from './aws-errors.ts';

export interface SsmSecretsOptions {
  /** @default `/lambda-gitops` */
  readonly prefix?: string;
  /** Per-name overrides: the full parameter name to read for a secret name. */
  readonly names?: Readonly<Partial<Record<SecretName | string, string>>>;
  /** @default 5 minutes */
  readonly ttlMs?: number;
  readonly client?: SSMClient;
  readonly clock?: Clock;
}

interface Entry {
  readonly value: string;
  readonly expires: number;
}

export class SsmSecrets implements Secrets {
  readonly #client: SSMClient;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #names: SsmSecretsOptions['names'];
  readonly #ttlMs: number;
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string | undefined>>();

  constructor(options: SsmSecretsOptions = {}) {
    this.#client = options.client ?? new SSMClient({});
    this.#clock = options.clock ?? systemClock;
    this.#prefix = (options.prefix ?? '/lambda-gitops').replace(/\/+$/, '');
    this.#names = options.names;
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
  }

  /** The SSM parameter a secret name maps to. */
  parameterName(name: SecretName | string): string {
    return this.#names?.[name] ?? (name.startsWith('/') ? name : `${this.#prefix}/${name}`);
  }

  async get(name: SecretName | string): Promise<string | undefined> {
    const parameter = this.parameterName(name);
    const cached = this.#cache.get(parameter);
    if (cached && cached.expires > this.#clock.now().getTime()) return cached.value;
    const running = this.#inflight.get(parameter);
    if (running) return running;
    const read = this.#read(parameter).finally(() => this.#inflight.delete(parameter));
    this.#inflight.set(parameter, read);
    return read;
  }

  async #read(parameter: string): Promise<string | undefined> {
    try {
      const out = await this.#client.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
      const value = out.Parameter?.Value;
      if (value === undefined) return undefined;
      registerSecret(value);
      this.#cache.set(parameter, { value, expires: this.#clock.now().getTime() + this.#ttlMs });
      return value;
    } catch (err) {
      // Not set is an answer, not a fault; it is not cached so a secret created now is seen at once.
      if (errorName(err) === 'ParameterNotFound') {
        this.#cache.delete(parameter);
        return undefined;
      }
      throw new GitOpsError(
        Reason.SecretMissing,
        `cannot read SSM parameter ${parameter}: ${errorName(err) || 'Error'}: ${errorMessage(err)}`,
        { retryable: isTransient(err), cause: err },
      );
    }
  }
}
