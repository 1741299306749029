import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { GitOpsProps } from '../../stack/gitops-construct.ts';
import { FULL_PROPS, makeStack } from './app-fixture.ts';

/**
 * Installed stacks must update in place: CloudFormation replaces a resource whose logical id changes (a new bucket,
 * queue or bus, the old one deleted or orphaned). fixtures/logical-ids.json holds the logical ids and types that the
 * construct synthesized BEFORE it was split into stack/parts (written once from that commit's synth, never
 * regenerated); every one must still be there with the same type.
 */
const BEFORE_SPLIT = JSON.parse(
  readFileSync(new URL('./fixtures/logical-ids.json', import.meta.url), 'utf8'),
) as Record<Case, Record<string, string>>;

type Case = 'full' | 'defaults' | 'variant';

const CASES: Record<Case, GitOpsProps> = {
  full: FULL_PROPS,
  defaults: {},
  variant: {
    ...FULL_PROPS,
    serviceRolePolicyArns: ['arn:aws:iam::123456789012:policy/deployer'],
    applyConcurrency: false,
    driftConcurrency: false,
    trustedKeyParameters: ['/signing/release'],
    slackChannel: undefined,
    slackWebhook: false,
    githubCommitStatus: false,
    alertEmails: [],
  },
};

/**
 * Resources added after the split, on purpose, by case. New resources are fine (CloudFormation creates them); a
 * logical id that disappears or changes type is not.
 */
const BUS_POLICY = { GitOpsBuscdkOnlySyncRequestsFromInstallationAndApprovers507A2DC4: 'AWS::Events::EventBusPolicy' };
/** The drift fan-out (stack/drift-fanout.ts): the worker function, its queue and dead-letter queue, their alarms. */
const DRIFT_FANOUT = {
  GitOpsDriftWorkerLogGroupECF12D01: 'AWS::Logs::LogGroup',
  GitOpsDriftWorkerRoleC44381A1: 'AWS::IAM::Role',
  GitOpsDriftWorkerRoleDefaultPolicy69905423: 'AWS::IAM::Policy',
  GitOpsDriftWorkerFunctionA93D167E: 'AWS::Lambda::Function',
  GitOpsDriftWorkerFunctionSqsEventSourceLambdaGitOpsDriftFanOutQueue89540D2213842873:
    'AWS::Lambda::EventSourceMapping',
  GitOpsDriftFanOutDeadLetterQueue679909A2: 'AWS::SQS::Queue',
  GitOpsDriftFanOutDeadLetterQueuePolicyCED045C3: 'AWS::SQS::QueuePolicy',
  GitOpsDriftFanOutQueue4F653B62: 'AWS::SQS::Queue',
  GitOpsDriftFanOutQueuePolicy40BAB9E6: 'AWS::SQS::QueuePolicy',
  GitOpsDriftFanOutDeadLetterAlarm2B63E74B: 'AWS::CloudWatch::Alarm',
  GitOpsDriftFanOutBacklogAgeAlarm5B583F1C: 'AWS::CloudWatch::Alarm',
  GitOpsDriftWorkerErrorsAlarm01C368C0: 'AWS::CloudWatch::Alarm',
};
const ADDED_ALL = { ...BUS_POLICY, ...DRIFT_FANOUT };
const ADDED: Record<Case, Record<string, string>> = { full: ADDED_ALL, defaults: ADDED_ALL, variant: ADDED_ALL };

function logicalIds(props: GitOpsProps): Record<string, string> {
  const { stack } = makeStack(props);
  const resources = Template.fromStack(stack).toJSON()['Resources'] as Record<string, { Type: string }>;
  return Object.fromEntries(
    Object.keys(resources)
      .sort()
      .map((id) => [id, resources[id]!.Type]),
  );
}

describe('logical ids', () => {
  for (const name of Object.keys(CASES) as Case[]) {
    it(`keeps every logical id and type of the unsplit construct (${name} props)`, () => {
      const expected = Object.fromEntries(
        Object.entries({ ...BEFORE_SPLIT[name], ...ADDED[name] }).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      expect(logicalIds(CASES[name])).toEqual(expected);
    });
  }
});
