import {
  CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClientFactory } from '../../shared/adapters/aws/clients.ts';
import { CloudFormationDriftDetector } from '../../shared/adapters/aws/drift-cfn.ts';
import { notFound, STACK_ID, throttling, validationError } from './cfn-responses.ts';
import { FakeClock, stackState } from './fixtures.ts';

const cfn = mockClient(CloudFormationClient);
let clock: FakeClock;
beforeEach(() => {
  cfn.reset();
  clock = new FakeClock();
});
const detector = (options: { values?: boolean } = {}) =>
  new CloudFormationDriftDetector({ clients: new AwsClientFactory({ clock }), clock, ...options });
const DETECTION = 'b78ac9b0-dec1-11e7-a451-503a3example';

describe('CloudFormationDriftDetector', () => {
  it.each(['CREATE_IN_PROGRESS', 'ROLLBACK_COMPLETE', 'UPDATE_IN_PROGRESS', 'REVIEW_IN_PROGRESS', 'DELETE_FAILED'])(
    "reports NotChecked, with CloudFormation's reason, when DetectStackDrift refuses a stack in %s",
    async (status) => {
      cfn.on(DetectStackDriftCommand).rejects(validationError(`Stack [web-prod] is in ${status} state`));
      const d = detector();
      const result = await d.detect(stackState());
      expect(result.status).toBe('NotChecked');
      expect(result.message).toContain(status);
      expect(cfn.commandCalls(DescribeStackDriftDetectionStatusCommand)).toHaveLength(0);
      expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
      expect(d.calls).toBe(1);
    },
  );

  it('reports NotChecked for a stack that does not exist', async () => {
    cfn.on(DetectStackDriftCommand).rejects(notFound('web-prod'));
    const result = await detector().detect(stackState());
    expect(result.status).toBe('NotChecked');
    expect(result.message).toContain('does not exist');
  });

  it('waits before its first status poll, so a quick detection costs one poll', async () => {
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: DETECTION });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: STACK_ID,
      StackDriftDetectionId: DETECTION,
      DetectionStatus: 'DETECTION_COMPLETE',
      StackDriftStatus: 'IN_SYNC',
      Timestamp: new Date(),
    });
    const d = detector();
    await d.detect(stackState());
    expect(clock.sleeps[0]).toBe(3_000);
    expect(d.calls).toBe(2);
  });

  it('detects drift, polling until complete and reading every page of MODIFIED/DELETED resources', async () => {
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: DETECTION });
    cfn
      .on(DescribeStackDriftDetectionStatusCommand)
      .resolvesOnce({
        StackId: STACK_ID,
        StackDriftDetectionId: DETECTION,
        DetectionStatus: 'DETECTION_IN_PROGRESS',
        Timestamp: new Date(),
      })
      .resolves({
        StackId: STACK_ID,
        StackDriftDetectionId: DETECTION,
        DetectionStatus: 'DETECTION_COMPLETE',
        StackDriftStatus: 'DRIFTED',
        DriftedStackResourceCount: 2,
        Timestamp: new Date(),
      });
    cfn
      .on(DescribeStackResourceDriftsCommand, { NextToken: undefined })
      .resolves({
        StackResourceDrifts: [
          {
            StackId: STACK_ID,
            LogicalResourceId: 'Queue',
            PhysicalResourceId: 'https://sqs.eu-west-1.amazonaws.com/123456789012/web-prod-queue',
            ResourceType: 'AWS::SQS::Queue',
            StackResourceDriftStatus: 'MODIFIED',
            ExpectedProperties: '{"VisibilityTimeout":30}',
            ActualProperties: '{"VisibilityTimeout":60}',
            PropertyDifferences: [
              {
                PropertyPath: '/VisibilityTimeout',
                ExpectedValue: '30',
                ActualValue: '60',
                DifferenceType: 'NOT_EQUAL',
              },
            ],
            Timestamp: new Date(),
          },
        ],
        NextToken: 'next',
      })
      .on(DescribeStackResourceDriftsCommand, { NextToken: 'next' })
      .resolves({
        StackResourceDrifts: [
          {
            StackId: STACK_ID,
            LogicalResourceId: 'Topic',
            ResourceType: 'AWS::SNS::Topic',
            StackResourceDriftStatus: 'DELETED',
            Timestamp: new Date(),
          },
        ],
      });
    const d = detector();

    const result = await d.detect(stackState());

    expect(result.status).toBe('Drifted');
    expect(result.resources).toEqual([
      {
        logicalId: 'Queue',
        physicalId: 'https://sqs.eu-west-1.amazonaws.com/123456789012/web-prod-queue',
        type: 'AWS::SQS::Queue',
        status: 'MODIFIED',
        // Paths and kinds only unless the installation opted in to values (GITOPS_DRIFT_VALUES=redacted).
        differences: [{ path: '/VisibilityTimeout', kind: 'NOT_EQUAL' }],
      },
      { logicalId: 'Topic', type: 'AWS::SNS::Topic', status: 'DELETED', differences: [] },
    ]);
    expect(result.message).toContain('Queue MODIFIED');
    const filters = cfn
      .commandCalls(DescribeStackResourceDriftsCommand)
      .map((c) => c.args[0].input.StackResourceDriftStatusFilters);
    expect(filters).toEqual([
      ['MODIFIED', 'DELETED'],
      ['MODIFIED', 'DELETED'],
    ]);
    // DetectStackDrift, 2 status polls, 2 pages.
    expect(d.calls).toBe(5);
    expect(d.callsFor('prod/web')).toBe(5);
    const withValues = await detector({ values: true }).detect(stackState());
    expect(withValues.resources[0]!.differences).toEqual([
      { path: '/VisibilityTimeout', expected: '30', actual: '60', kind: 'NOT_EQUAL' },
    ]);
  });

  it('stops at IN_SYNC without reading resource drifts', async () => {
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: DETECTION });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: STACK_ID,
      StackDriftDetectionId: DETECTION,
      DetectionStatus: 'DETECTION_COMPLETE',
      StackDriftStatus: 'IN_SYNC',
      Timestamp: new Date(),
    });
    const d = detector();
    expect(await d.detect(stackState())).toEqual({ status: 'InSync', resources: [] });
    expect(cfn.commandCalls(DescribeStackResourceDriftsCommand)).toHaveLength(0);
    expect(d.calls).toBe(2);
  });

  it('reports DETECTION_FAILED with its reason', async () => {
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: DETECTION });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: STACK_ID,
      StackDriftDetectionId: DETECTION,
      DetectionStatus: 'DETECTION_FAILED',
      DetectionStatusReason: 'Failed to detect drift on resource [Fn]: Access denied',
      StackDriftStatus: 'UNKNOWN',
      Timestamp: new Date(),
    });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    const result = await detector().detect(stackState());
    expect(result.status).toBe('NotChecked');
    expect(result.message).toContain('Failed to detect drift on resource [Fn]');
  });

  it('absorbs throttling with backoff and counts every try', async () => {
    cfn
      .on(DetectStackDriftCommand)
      .rejectsOnce(throttling())
      .rejectsOnce(throttling())
      .resolves({ StackDriftDetectionId: DETECTION });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: STACK_ID,
      StackDriftDetectionId: DETECTION,
      DetectionStatus: 'DETECTION_COMPLETE',
      StackDriftStatus: 'IN_SYNC',
      Timestamp: new Date(),
    });
    const d = detector();
    expect((await d.detect(stackState())).status).toBe('InSync');
    // Two throttled tries and the third of DetectStackDrift, then one status poll.
    expect(d.calls).toBe(4);
    // Two throttling backoffs and the wait before the first poll.
    expect(clock.sleeps).toHaveLength(3);
  });

  it('gives up with NotChecked when detection outlasts its deadline', async () => {
    cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: DETECTION });
    cfn.on(DescribeStackDriftDetectionStatusCommand).resolves({
      StackId: STACK_ID,
      StackDriftDetectionId: DETECTION,
      DetectionStatus: 'DETECTION_IN_PROGRESS',
      Timestamp: new Date(),
    });
    const result = await new CloudFormationDriftDetector({
      clients: new AwsClientFactory({ clock }),
      clock,
      timeoutMs: 60_000,
    }).detect(stackState());
    expect(result.status).toBe('NotChecked');
    expect(result.message).toContain('did not finish');
  });
});
