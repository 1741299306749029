import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../shared/adapters/aws/notifier-sns.ts';
import { failed } from '../notify/events.ts';

const sns = mockClient(SNSClient);
beforeEach(() => sns.reset());
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:lambda-gitops-notifications';
const notifier = (format?: 'email' | 'chat' | 'both') =>
  new SnsNotifier({ topicArn: TOPIC, client: new SNSClient({ region: 'eu-west-1' }), ...(format ? { format } : {}) });

describe('SnsNotifier', () => {
  it('publishes mail text for email and the Amazon Q custom notification for HTTPS subscribers', async () => {
    sns.on(PublishCommand).resolves({ MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e' });
    await notifier().send(failed());
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TopicArn: TOPIC,
      Subject: '[FAILED] prod/web: sync failed (ChangeSetFailed) at 3f78685',
      MessageStructure: 'json',
      MessageAttributes: {
        detailType: { DataType: 'String', StringValue: 'Sync Failed' },
        severity: { DataType: 'String', StringValue: 'error' },
        environment: { DataType: 'String', StringValue: 'prod' },
        stack: { DataType: 'String', StringValue: 'web' },
      },
    });
    const message = JSON.parse(input?.Message ?? '{}');
    expect(message.email).toContain('Bucket (AWS::S3::Bucket)');
    expect(message.default).toBe(message.email);
    expect(JSON.parse(message.https)).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown' },
    });
  });

  it.each([
    { format: 'email' as const, check: (m: string) => expect(m).toContain('Failing resources:') },
    { format: 'chat' as const, check: (m: string) => expect(JSON.parse(m).source).toBe('custom') },
  ])('sends only the $format form when asked', async ({ format, check }) => {
    sns.on(PublishCommand).resolves({ MessageId: 'x' });
    await notifier(format).send(failed());
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.MessageStructure).toBeUndefined();
    check(input?.Message ?? '');
  });

  it('reports a failed publish as PublishFailed', async () => {
    sns.on(PublishCommand).rejects(
      Object.assign(new Error('Topic does not exist'), {
        name: 'NotFoundException',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    await expect(notifier().send(failed())).rejects.toMatchObject({ reason: 'PublishFailed', retryable: false });
  });
});
