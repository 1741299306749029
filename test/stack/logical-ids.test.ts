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
const ADDED: Record<Case, Record<string, string>> = { full: BUS_POLICY, defaults: BUS_POLICY, variant: BUS_POLICY };

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
