/**
 * The AWS side of the handler tests (test/functions, test/policy/functions-policy.test.ts): SQS records as Lambda
 * receives them, EventBridge PutEvents answered and captured, and the installation's Git token in SSM.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';

/** One FIFO message as the SQS event source delivers it; `receives` is its ApproximateReceiveCount. */
export const sqsRecord = (body: string, group: string, receives = 1): SQSRecord =>
  ({
    messageId: `m-${Math.random().toString(36).slice(2)}`,
    receiptHandle: 'r',
    body,
    attributes: {
      ApproximateReceiveCount: String(receives),
      MessageGroupId: group,
      SentTimestamp: '0',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:q.fifo',
    awsRegion: 'eu-west-1',
  }) as SQSRecord;

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** Every PutEvents is accepted, and each entry is appended to `published` as the event it carries. */
export function capturePutEvents(bus: AwsClientStub<EventBridgeClient>, published: GitOpsEvent[]): void {
  bus.on(PutEventsCommand).callsFake((input) => {
    for (const e of input.Entries ?? []) {
      published.push({
        source: 'lambda-gitops',
        detailType: e.DetailType,
        time: '',
        detail: JSON.parse(e.Detail ?? '{}'),
      } as GitOpsEvent);
    }
    return {
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_: unknown, i: number) => ({ EventId: `e-${i}` })),
    };
  });
}

/** The installation's Git token, where the functions read it (`/lambda-gitops/git-token`, a SecureString). */
export function storeGitToken(ssm: AwsClientStub<SSMClient>, token: string): void {
  ssm
    .on(GetParameterCommand, { Name: '/lambda-gitops/git-token' })
    .resolves({ Parameter: { Value: token, Type: 'SecureString' } });
}
