/**
 * The AWS side of the handler tests (test/functions, test/policy/functions-policy.test.ts): SQS records as Lambda
 * receives them, EventBridge PutEvents answered and captured, and the installation's Git token in SSM.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import type { GitOpsEvent } from '../../shared/events/catalog.ts';
import type { Clock } from '../../shared/ports.ts';
import type { S3TestServer } from '../aws/s3-server.ts';

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

/**
 * The AWS clients the functions' `awsDeps` takes: S3 from the s3rver test server, EventBridge and SSM for
 * aws-sdk-client-mock to answer, and CloudFormation clients the stand-in (test/helpers/cfn-standin.ts) intercepts.
 */
export const standInClients = (s3: S3TestServer, clock: Clock) => ({
  s3: s3.client(),
  eventBridge: new EventBridgeClient({ region: 'eu-west-1' }),
  ssm: new SSMClient({ region: 'eu-west-1' }),
  cloudFormation: new AwsClientFactory({ clock }),
});

/** The body of the `Push Received` event the sync queue carries for `branch` of `repo`. */
export const pushReceivedBody = (repo: string, branch = 'main'): string =>
  JSON.stringify({ source: 'lambda-gitops', 'detail-type': 'Push Received', detail: { repo, branch } });
