import { App } from 'aws-cdk-lib';
import type { GitOpsProps } from '../../stack/gitops-construct.ts';
import { GitOpsStack } from '../../stack/gitops-stack.ts';

export const FIXTURE_ENTRY = 'test/stack/fixtures/handler.ts';
export const FIXTURE_ENTRIES = {
  webhook: FIXTURE_ENTRY,
  sync: FIXTURE_ENTRY,
  apply: FIXTURE_ENTRY,
  drift: FIXTURE_ENTRY,
  notify: FIXTURE_ENTRY,
  'drift-worker': FIXTURE_ENTRY,
} as const;

/** Everything switched on: two repositories (one CodeCommit), a target account, e-mail, chat, Slack, GitHub. */
export const FULL_PROPS: GitOpsProps = {
  functionEntries: FIXTURE_ENTRIES,
  repositories: [
    { name: 'infra', url: 'https://github.com/acme/infra.git' },
    {
      name: 'platform',
      url: 'https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/platform',
      branch: 'release/1.x',
    },
  ],
  environments: [{ name: 'prod', roleArn: 'arn:aws:iam::111122223333:role/gitops-deployer' }],
  alertEmails: ['ops@example.com'],
  slackChannel: { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' },
  slackWebhook: true,
  githubCommitStatus: true,
};

/**
 * A stack on stand-in handlers. Bundling is skipped unless asked for: the template does not depend on bundle
 * contents, and esbuild per function per test would make the suite slow.
 */
export function makeStack(props: GitOpsProps = FULL_PROPS, opts: { readonly bundle?: boolean } = {}) {
  const app = new App({ context: opts.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GitOpsStack(app, 'LambdaGitOps', {
    env: { account: '123456789012', region: 'eu-west-1' },
    gitops: { functionEntries: FIXTURE_ENTRIES, ...props },
  });
  return { app, stack };
}
