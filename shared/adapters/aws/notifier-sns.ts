/**
 * Publishes notifications to an SNS topic. With `MessageStructure: json` each protocol gets its own form: email
 * subscribers the plain text a person reads, HTTPS subscribers (Amazon Q Developer in chat apps) the custom
 * notification JSON, and everything else (SQS, Lambda) the plain text too.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GitOpsError, Reason } from '../../errors.ts';
import type { GitOpsEvent } from '../../events/catalog.ts';
import { formatChatNotification } from '../../notify/format-chat.ts';
import { formatPlainText } from '../../notify/format-plain.ts';
import type { Notifier } from '../../notify/types.ts';
import { errorMessage, errorName, isTransient } from './aws-errors.ts';

export interface SnsNotifierOptions {
  readonly topicArn: string;
  readonly client?: SNSClient;
  /** `email`: plain text only; `chat`: the Amazon Q custom notification only; `both`: per protocol. @default both */
  readonly format?: 'email' | 'chat' | 'both';
}

export class SnsNotifier implements Notifier {
  readonly #client: SNSClient;
  readonly #options: SnsNotifierOptions;

  constructor(options: SnsNotifierOptions) {
    this.#options = options;
    this.#client = options.client ?? new SNSClient({});
  }

  async send(event: GitOpsEvent): Promise<void> {
    const { subject, body } = formatPlainText(event);
    const chat = JSON.stringify(formatChatNotification(event));
    const format = this.#options.format ?? 'both';
    const message =
      format === 'email'
        ? { Message: body }
        : format === 'chat'
          ? { Message: chat }
          : { Message: JSON.stringify({ default: body, email: body, https: chat }), MessageStructure: 'json' };
    const d = event.detail;
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.#options.topicArn,
          Subject: subject,
          ...message,
          // Attributes let subscriptions filter (e.g. only errors, only prod) without parsing the message.
          MessageAttributes: {
            detailType: { DataType: 'String', StringValue: event.detailType },
            severity: { DataType: 'String', StringValue: d.severity },
            reason: { DataType: 'String', StringValue: d.reason },
            ...(d.environment ? { environment: { DataType: 'String', StringValue: d.environment } } : {}),
            ...(d.stack ? { stack: { DataType: 'String', StringValue: d.stack } } : {}),
          },
        }),
      );
    } catch (err) {
      throw new GitOpsError(
        Reason.PublishFailed,
        `SNS Publish to ${this.#options.topicArn} failed for ${event.detailType}: ${errorName(err)}: ${errorMessage(err)}`,
        { retryable: isTransient(err), notify: false, cause: err },
      );
    }
  }
}
