/** Posts to a Slack incoming webhook whose URL is a secret (the URL alone grants posting). */

import { GitOpsError, Reason } from '../errors.ts';
import type { GitOpsEvent } from '../events/catalog.ts';
import type { Secrets } from '../ports.ts';
import { registerSecret } from '../sanitize.ts';
import { formatSlack } from './format-slack.ts';
import type { Fetch, Notifier } from './types.ts';

export interface SlackNotifierOptions {
  readonly secrets: Secrets;
  /** @default `slack-webhook-url` */
  readonly secretName?: string;
  readonly fetch?: Fetch;
  /** @default 5 s */
  readonly timeoutMs?: number;
}

export class SlackNotifier implements Notifier {
  readonly #options: SlackNotifierOptions;

  constructor(options: SlackNotifierOptions) {
    this.#options = options;
  }

  async send(event: GitOpsEvent): Promise<void> {
    const name = this.#options.secretName ?? 'slack-webhook-url';
    const url = await this.#options.secrets.get(name);
    if (!url)
      throw new GitOpsError(Reason.SecretMissing, `secret ${name} is not set: cannot post to Slack`, { notify: false });
    registerSecret(url);
    // The path is the secret part of a webhook URL, and receivers echo it in their error pages.
    registerSecret(URL.canParse(url) ? new URL(url).pathname : undefined);
    const doFetch = this.#options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(formatSlack(event)),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5_000),
      });
    } catch (err) {
      throw new GitOpsError(Reason.PublishFailed, `Slack webhook unreachable: ${(err as Error).message}`, {
        retryable: true,
        notify: false,
        cause: err,
      });
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 200);
      throw new GitOpsError(Reason.PublishFailed, `Slack answered ${response.status}: ${text}`, {
        retryable: response.status === 429 || response.status >= 500,
        notify: false,
      });
    }
  }
}
