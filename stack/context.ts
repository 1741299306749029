import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { readPolicyFile } from '../shared/policy/load.ts';
import type { GitOpsEnvironment, GitOpsProps, GitOpsRepository } from './gitops-construct.ts';
import type { InstallationPolicyDocument } from './policy-env.ts';

/**
 * The `-c key=value` context keys `cdk deploy` understands (also settable in cdk.json "context"):
 *
 * | key | value |
 * |---|---|
 * | stackName | CloudFormation stack name (default `LambdaGitOps`) |
 * | repositories | JSON `[{"name","url","branch","provider"}]` |
 * | repository, branch, repositoryName | one repository without JSON (`branch` default main) |
 * | environments | JSON `[{"name","roleArn"}]` |
 * | alertEmails | comma-separated e-mail addresses |
 * | slackWorkspaceId, slackChannelId | Amazon Q Developer in chat apps Slack channel |
 * | slackWebhook, githubStatus | `true` to enable the Slack incoming webhook / GitHub commit statuses |
 * | githubApiUrl | GitHub Enterprise Server API URL |
 * | stackNamePrefix, busName, secretsPrefix, statePrefix | names |
 * | driftMinutes, pollMinutes | schedule rates in minutes |
 * | serviceRolePolicies | comma-separated AWS managed policy names or policy ARNs for the CloudFormation service role |
 * | applyConcurrency, driftConcurrency | integers, or `false` for no reserved concurrency |
 * | trustedKeyParameters | comma-separated SSM parameter names of the OpenPGP keys every applied commit must be signed by |
 * | sourceMaps | `true` to map the functions' stack traces through their source maps (costs cold-start time) |
 * | approvers | comma-separated IAM role or user ARNs allowed to put `Sync Requested` on the bus (approvals) |
 * | webhookConcurrency | integer, or `false` for no reserved concurrency (accounts with the new-account quota of 10) |
 * | policy | path of the installation policy file (YAML or JSON), see the README's "Security model" |
 * | driftValues | `redacted` to keep drifted properties' values (secret-like ones redacted); default paths and kinds only |
 * | pullRequestPreviews | `true` to comment the plan of every pull request (tokens in SSM, see README) |
 */
export const CONTEXT_KEYS = [
  'stackName',
  'repositories',
  'repository',
  'repositoryName',
  'branch',
  'environments',
  'alertEmails',
  'slackWorkspaceId',
  'slackChannelId',
  'slackWebhook',
  'githubStatus',
  'githubApiUrl',
  'stackNamePrefix',
  'busName',
  'secretsPrefix',
  'statePrefix',
  'driftMinutes',
  'pollMinutes',
  'serviceRolePolicies',
  'applyConcurrency',
  'driftConcurrency',
  'trustedKeyParameters',
  'sourceMaps',
  'approvers',
  'webhookConcurrency',
  'policy',
  'driftValues',
  'pullRequestPreviews',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface AppConfig {
  readonly stackName: string;
  readonly gitops: GitOpsProps;
}

/** `-c policy=<file>`: the file is read and checked now, so a bad policy fails the synth with its line and field. */
function policyFile(file: string | undefined): InstallationPolicyDocument | undefined {
  if (file === undefined) return undefined;
  const { origin: _origin, ...document } = readPolicyFile(file);
  return document;
}

/** `-c driftValues=redacted|off`: anything else fails the synth, naming the key. */
function driftValuesContext(value: string | undefined): 'off' | 'redacted' | undefined {
  if (value === undefined || value === 'off' || value === 'redacted') return value;
  return fail(`driftValues must be 'off' or 'redacted', not '${value}'`);
}

const fail = (message: string): never => {
  throw new Error(`context: ${message}`);
};

/**
 * Builds the stack configuration from CDK context. `get` is `app.node.tryGetContext`; values from the command line
 * are strings, values from cdk.json may already be JSON.
 */
export function configFromContext(get: (key: ContextKey) => unknown): AppConfig {
  const str = (key: ContextKey): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  const json = <T>(key: ContextKey): T | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') return v as T;
    try {
      return JSON.parse(v) as T;
    } catch {
      return fail(`-c ${key} must be JSON, got '${v}'`);
    }
  };
  const bool = (key: ContextKey): boolean | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') fail(`-c ${key} must be true or false, got '${v}'`);
    return v === 'true';
  };
  const int = (key: ContextKey): number | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) fail(`-c ${key} must be an integer, got '${v}'`);
    return n;
  };
  const intOrFalse = (key: ContextKey): number | false | undefined => (str(key) === 'false' ? false : int(key));
  const list = (key: ContextKey): string[] | undefined =>
    str(key)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  let repositories = json<GitOpsRepository[]>('repositories');
  const single = str('repository');
  if (repositories !== undefined && single !== undefined) {
    fail('use either -c repositories=<JSON> or -c repository=<url>, not both');
  }
  if (repositories !== undefined && !Array.isArray(repositories)) {
    fail(`-c repositories must be a JSON array of {name, url, branch}, got ${JSON.stringify(repositories)}`);
  }
  if (single !== undefined) {
    const name =
      str('repositoryName') ??
      single
        .replace(/\.git$/, '')
        .split('/')
        .pop() ??
      'repository';
    repositories = [{ name, url: single, branch: str('branch') ?? 'main' }];
  }
  const environments = json<GitOpsEnvironment[]>('environments');
  if (environments !== undefined && !Array.isArray(environments)) {
    fail(`-c environments must be a JSON array of {name, roleArn}, got ${JSON.stringify(environments)}`);
  }

  const workspaceId = str('slackWorkspaceId');
  const channelId = str('slackChannelId');
  if ((workspaceId === undefined) !== (channelId === undefined)) {
    fail('-c slackWorkspaceId and -c slackChannelId go together: give both or neither');
  }
  const driftMinutes = int('driftMinutes');
  const pollMinutes = int('pollMinutes');
  const policies = list('serviceRolePolicies');

  return {
    stackName: str('stackName') ?? 'LambdaGitOps',
    gitops: {
      repositories,
      environments,
      alertEmails: list('alertEmails'),
      slackChannel: workspaceId && channelId ? { workspaceId, channelId } : undefined,
      slackWebhook: bool('slackWebhook'),
      githubCommitStatus: bool('githubStatus'),
      githubApiUrl: str('githubApiUrl'),
      stackNamePrefix: str('stackNamePrefix'),
      busName: str('busName'),
      secretsPrefix: str('secretsPrefix'),
      statePrefix: str('statePrefix'),
      driftInterval: driftMinutes === undefined ? undefined : Duration.minutes(driftMinutes),
      pollInterval: pollMinutes === undefined ? undefined : Duration.minutes(pollMinutes),
      serviceRolePolicies: policies
        ?.filter((p) => !p.startsWith('arn:'))
        .map(iam.ManagedPolicy.fromAwsManagedPolicyName),
      serviceRolePolicyArns: policies?.filter((p) => p.startsWith('arn:')),
      applyConcurrency: intOrFalse('applyConcurrency'),
      driftConcurrency: intOrFalse('driftConcurrency'),
      trustedKeyParameters: list('trustedKeyParameters'),
      sourceMaps: bool('sourceMaps'),
      approvers: list('approvers'),
      webhookConcurrency: intOrFalse('webhookConcurrency'),
      policy: policyFile(str('policy')),
      driftValues: driftValuesContext(str('driftValues')),
      pullRequestPreviews: bool('pullRequestPreviews'),
    },
  };
}
