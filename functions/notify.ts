/**
 * The notify function, invoked by an EventBridge rule with each result and drift event: alerts to SNS (plain text for
 * mail, Amazon Q Developer custom-notification JSON for chat), an optional Slack incoming webhook, and an optional
 * GitHub commit status. Identical alerts are sent once (the dedupe record lives in the state bucket); recoveries
 * always go out. Commit statuses are not deduplicated: setting the same status twice is harmless.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { EventBridgeEvent } from 'aws-lambda';
import { S3DedupeStore } from '../shared/adapters/aws/dedupe-s3.ts';
import { SnsNotifier } from '../shared/adapters/aws/notifier-sns.ts';
import { SsmSecrets } from '../shared/adapters/aws/secrets-ssm.ts';
import { systemClock } from '../shared/clock.ts';
import { toGitOpsError } from '../shared/errors.ts';
import { EVENT_SOURCE, type EventDetail, type GitOpsEvent } from '../shared/events/catalog.ts';
import { NOTIFY_DETAIL_TYPES } from '../shared/function-env.ts';
import { commitStatusFor } from '../shared/notify/commit-status.ts';
import { NotificationDeduper } from '../shared/notify/dedupe.ts';
import { GitHubStatusNotifier } from '../shared/notify/github-status.ts';
import { SlackNotifier } from '../shared/notify/slack-notifier.ts';
import type { Notifier } from '../shared/notify/types.ts';
import type { Logger } from '../shared/ports.ts';
import { readEnvConfig } from './lib/env-config.ts';
import { functionLogger } from './lib/powertools.ts';

/** What a person is told about: every detail-type the stack routes here. */
export const ALERTING: ReadonlySet<string> = new Set(NOTIFY_DETAIL_TYPES);

export interface NotifyHandlerDeps {
  /** Alert channels: SNS, Slack. */
  readonly alerts: readonly Notifier[];
  /** GitHub commit status, when enabled. */
  readonly commitStatus?: Notifier;
  readonly deduper: NotificationDeduper;
  readonly logger: Logger;
}

export function notifyDepsFromEnv(env: NodeJS.ProcessEnv = process.env): NotifyHandlerDeps {
  const config = readEnvConfig(env, ['stateBucket', 'alertsTopicArn']);
  const { logger } = functionLogger('notify');
  const secrets = new SsmSecrets({ prefix: config.secretsPrefix, client: new SSMClient({ region: config.region }) });
  const alerts: Notifier[] = [
    new SnsNotifier({ topicArn: config.alertsTopicArn as string, client: new SNSClient({ region: config.region }) }),
  ];
  if (config.slack) alerts.push(new SlackNotifier({ secrets }));
  return {
    alerts,
    ...(config.githubStatus
      ? { commitStatus: new GitHubStatusNotifier({ secrets, apiBaseUrl: config.githubApiUrl }) }
      : {}),
    deduper: new NotificationDeduper({
      store: new S3DedupeStore({
        bucket: config.bucket,
        key: `${config.statePrefix}notify/dedupe.json`,
        client: new S3Client({ region: config.region }),
      }),
      clock: systemClock,
    }),
    logger,
  };
}

export function makeNotifyHandler(deps: () => NotifyHandlerDeps) {
  let ready: NotifyHandlerDeps | undefined;
  return async (event: EventBridgeEvent<string, EventDetail>): Promise<{ sent: number; statuses: number }> => {
    ready ??= deps();
    const d = ready;
    if (event.source !== EVENT_SOURCE) {
      d.logger.warn('notify ignored an event from another source', { source: event.source });
      return { sent: 0, statuses: 0 };
    }
    const gitopsEvent: GitOpsEvent = {
      source: EVENT_SOURCE,
      detailType: event['detail-type'] as GitOpsEvent['detailType'],
      time: event.time,
      detail: event.detail,
    };
    const failures: string[] = [];
    let statuses = 0;
    if (d.commitStatus && commitStatusFor(gitopsEvent)) {
      try {
        await d.commitStatus.send(gitopsEvent);
        statuses++;
      } catch (err) {
        failures.push(`commit status: ${toGitOpsError(err).describe()}`);
      }
    }
    let sent = 0;
    // `notify: false` — the repository's notification routes leave this event out of alerts; statuses still go.
    if (ALERTING.has(gitopsEvent.detailType) && gitopsEvent.detail.notify !== false) {
      for (const toSend of await d.deduper.filter([gitopsEvent])) {
        for (const channel of d.alerts) {
          try {
            await channel.send(toSend);
            sent++;
          } catch (err) {
            failures.push(toGitOpsError(err).describe());
          }
        }
      }
    }
    if (failures.length) {
      // Lambda retries an asynchronous invocation twice, then the rule's DLQ keeps it: nothing is lost silently.
      d.logger.error('notification failed', { failures });
      throw new Error(`notification failed: ${failures.join('; ')}`);
    }
    return { sent, statuses };
  };
}

export const handler = makeNotifyHandler(() => notifyDepsFromEnv());
