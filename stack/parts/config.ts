/**
 * The construct's props checked and defaulted once, before any resource exists: an invalid combination throws at
 * synth with a message naming the prop. Also the naming rules that turn a repository into construct ids and FIFO
 * message groups (ids name resources, so they must never change for an installed repository).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Arn, Duration, type Stack, Token } from 'aws-cdk-lib';
import type { GitProvider, RepositoryEnv } from '../../shared/function-env.ts';
import { DEFAULT_STACK_NAME_PREFIX } from '../../shared/model.ts';
import type { GitOpsEnvironment, GitOpsFunctionName, GitOpsProps } from '../gitops-construct.ts';
import { FUNCTION_SPECS, PROJECT_ROOT } from './functions.ts';

const DEFAULTS = {
  busName: 'lambda-gitops',
  stackNamePrefix: DEFAULT_STACK_NAME_PREFIX,
  secretsPrefix: '/lambda-gitops',
  githubApiUrl: 'https://api.github.com',
} as const;

export interface ValidatedConfig {
  readonly busName: string;
  readonly stackNamePrefix: string;
  readonly secretsPrefix: string;
  readonly statePrefix: string;
  readonly githubApiUrl: string;
  readonly repositories: readonly RepositoryEnv[];
  readonly environments: readonly GitOpsEnvironment[];
  readonly driftInterval: Duration;
  readonly pollInterval: Duration;
  readonly applyConcurrency: number | false;
  readonly driftConcurrency: number | false;
  readonly maxReceiveCount: number;
  readonly trustedKeyParameters: readonly string[];
  readonly approvers: readonly string[];
  readonly webhookConcurrency: number | false;
  readonly entries: Readonly<Record<GitOpsFunctionName, string>>;
  /** Pull-request previews are on (props.pullRequestPreviews). */
  readonly previews: boolean;
}

export const fail = (message: string): never => {
  throw new Error(`GitOps: ${message}`);
};

export function validate(props: GitOpsProps, stack: Stack): ValidatedConfig {
  const busName = props.busName ?? DEFAULTS.busName;
  if (!/^[A-Za-z0-9._-]{1,256}$/.test(busName) || busName === 'default') {
    fail(`busName '${busName}' is not a custom bus name: use 1-256 of A-Z a-z 0-9 . _ - (and not 'default')`);
  }

  const stackNamePrefix = props.stackNamePrefix ?? DEFAULTS.stackNamePrefix;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stackNamePrefix)) {
    fail(
      `stackNamePrefix '${stackNamePrefix}' must start with a letter and hold only letters, digits and '-' ` +
        `(an empty prefix would grant CloudFormation rights on every stack); e.g. 'gitops-'`,
    );
  }
  if (!Token.isUnresolved(stack.stackName) && stack.stackName.startsWith(stackNamePrefix)) {
    fail(
      `stack name '${stack.stackName}' starts with stackNamePrefix '${stackNamePrefix}', so lambda-gitops could ` +
        `update or delete itself: rename the stack or choose another prefix`,
    );
  }

  const secretsPrefix = props.secretsPrefix ?? DEFAULTS.secretsPrefix;
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(secretsPrefix) || /^\/(aws|ssm)(\/|$)/i.test(secretsPrefix)) {
    fail(
      `secretsPrefix '${secretsPrefix}' must look like '/lambda-gitops' (starts with '/', no trailing '/', ` +
        `not under the reserved /aws or /ssm)`,
    );
  }

  const statePrefix = props.statePrefix ?? '';
  if (statePrefix !== '' && !/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(statePrefix)) {
    fail(`statePrefix '${statePrefix}' must be '' or a key prefix ending in '/', e.g. 'gitops/'`);
  }

  const githubApiUrl = props.githubApiUrl ?? DEFAULTS.githubApiUrl;
  if (!/^https:\/\/[^\s/]+/.test(githubApiUrl)) {
    fail(`githubApiUrl '${githubApiUrl}' must be an https URL, e.g. 'https://github.example.com/api/v3'`);
  }

  const repositories = (props.repositories ?? []).map((r): RepositoryEnv => {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(r.name)) {
      fail(`repository name '${r.name}' must be 1-100 of A-Z a-z 0-9 . _ - (it names rules and message groups)`);
    }
    if (!/^https:\/\/[^\s@]+$/.test(r.url)) {
      fail(
        `repository '${r.name}' url '${r.url}' must be an https clone URL without credentials ` +
          `(the token comes from SSM, never from the URL)`,
      );
    }
    const branch = r.branch ?? 'main';
    if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes('..') || branch.endsWith('/')) {
      fail(`repository '${r.name}' branch '${branch}' is not a plain branch name, e.g. 'main' or 'release/1.x'`);
    }
    if (`${r.name}/${branch}`.length > 128) {
      fail(`repository '${r.name}' with branch '${branch}' is longer than the 128-character SQS message group id`);
    }
    const provider = r.provider ?? inferProvider(r.url);
    if (
      provider === 'codecommit' &&
      !/^https:\/\/git-codecommit\.[a-z0-9-]+\.amazonaws\.com\/v1\/repos\/[^/]+$/.test(r.url)
    ) {
      fail(
        `repository '${r.name}' is a CodeCommit repository but url '${r.url}' is not ` +
          `'https://git-codecommit.<region>.amazonaws.com/v1/repos/<name>'`,
      );
    }
    return { name: r.name, url: r.url, branch, provider };
  });
  const seen = new Map<string, RepositoryEnv>();
  for (const r of repositories) {
    const key = constructIdOf(r);
    const other = seen.get(key);
    if (other?.name === r.name && other.branch === r.branch) {
      fail(`repository '${r.name}' branch '${r.branch}' is configured twice: remove one entry`);
    }
    if (other) {
      fail(
        `repositories '${other.name}@${other.branch}' and '${r.name}@${r.branch}' map to the same construct id ` +
          `'${key}': rename one`,
      );
    }
    seen.set(key, r);
  }

  const environments = props.environments ?? [];
  const envNames = new Set<string>();
  for (const e of environments) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/*-]+$/.test(e.roleArn)) {
      fail(
        `environment '${e.name}' roleArn '${e.roleArn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
      );
    }
    if (envNames.has(e.name)) fail(`environment '${e.name}' is configured twice: remove one entry`);
    envNames.add(e.name);
  }

  const driftInterval = props.driftInterval ?? Duration.minutes(15);
  const pollInterval = props.pollInterval ?? Duration.hours(1);
  for (const [name, d] of [
    ['driftInterval', driftInterval],
    ['pollInterval', pollInterval],
  ] as const) {
    if (d.toMinutes({ integral: false }) < 1) fail(`${name} ${d.toHumanString()} is below Scheduler's 1 minute rate`);
  }
  if (driftInterval.toMinutes({ integral: false }) < FUNCTION_SPECS.drift.timeout.toMinutes()) {
    fail(
      `driftInterval ${driftInterval.toHumanString()} is shorter than the drift function's 15 minute timeout: ` +
        `runs would overlap; use Duration.minutes(15) or more`,
    );
  }

  const applyConcurrency = props.applyConcurrency ?? 5;
  if (applyConcurrency !== false && (!Number.isInteger(applyConcurrency) || applyConcurrency < 2)) {
    fail(
      `applyConcurrency ${applyConcurrency} must be an integer >= 2 (the SQS event source needs 2) or false for no ` +
        `reservation`,
    );
  }
  const driftConcurrency = props.driftConcurrency ?? 1;
  if (driftConcurrency !== false && (!Number.isInteger(driftConcurrency) || driftConcurrency < 1)) {
    fail(`driftConcurrency ${driftConcurrency} must be an integer >= 1, or false for no reservation`);
  }
  if (props.maxReceiveCount !== undefined && (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1)) {
    fail(`maxReceiveCount ${props.maxReceiveCount} must be an integer >= 1`);
  }
  if (props.slackChannel) {
    const { workspaceId, channelId } = props.slackChannel;
    if (!/^[A-Z0-9]{6,}$/.test(workspaceId) || !/^[A-Z0-9]{6,}$/.test(channelId)) {
      fail(
        `slackChannel workspaceId '${workspaceId}' / channelId '${channelId}' must be Slack ids such as ` +
          `'T0123ABCD' / 'C0123ABCD' (Slack: channel details > About)`,
      );
    }
  }
  const trustedKeyParameters = props.trustedKeyParameters ?? [];
  for (const name of trustedKeyParameters) {
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(name)) {
      fail(
        `trustedKeyParameters: '${name}' is not an SSM parameter name; use the full name, e.g. '/platform/signing/release'`,
      );
    }
  }

  const webhookConcurrency = props.webhookConcurrency ?? 10;
  if (webhookConcurrency !== false && (!Number.isInteger(webhookConcurrency) || webhookConcurrency < 1)) {
    fail(`webhookConcurrency ${webhookConcurrency} must be an integer >= 1, or false for no reservation`);
  }
  const approvers = props.approvers ?? [];
  for (const arn of approvers) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/.test(arn)) {
      fail(
        `approvers: '${arn}' is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name>); the bus policy ` +
          `matches the caller's exact principal ARN, so account roots and wildcards cannot be approvers`,
      );
    }
  }

  const names: readonly GitOpsFunctionName[] = ['webhook', 'sync', 'apply', 'drift', 'notify', 'drift-worker'];
  const entries = Object.fromEntries(
    names.map((n) => [n, resolve(PROJECT_ROOT, props.functionEntries?.[n] ?? `functions/${n}.ts`)]),
  ) as Record<GitOpsFunctionName, string>;
  const missing = names.filter((n) => !existsSync(entries[n]));
  if (missing.length > 0) {
    fail(
      `function entry files not found: ${missing.map((n) => entries[n]).join(', ')}; each must export 'handler' ` +
        `(or pass functionEntries)`,
    );
  }

  return {
    busName,
    stackNamePrefix,
    secretsPrefix,
    statePrefix,
    githubApiUrl,
    repositories,
    environments,
    driftInterval,
    pollInterval,
    applyConcurrency,
    driftConcurrency,
    maxReceiveCount: props.maxReceiveCount ?? 3,
    trustedKeyParameters,
    approvers,
    webhookConcurrency,
    entries,
    previews: props.pullRequestPreviews ?? false,
  };
}

function inferProvider(url: string): GitProvider {
  const host = new URL(url).hostname;
  if (host === 'github.com' || host.endsWith('.github.com')) return 'github';
  if (host === 'gitlab.com' || host.startsWith('gitlab.')) return 'gitlab';
  if (host === 'bitbucket.org') return 'bitbucket';
  if (/^git-codecommit\.[a-z0-9-]+\.amazonaws\.com$/.test(host)) return 'codecommit';
  return 'generic';
}

/** The repository ARN of a CodeCommit clone URL (same account; the region is the URL's). */
export function codeCommitArn(stack: Stack, url: string): string {
  const { hostname, pathname } = new URL(url);
  const region = hostname.split('.')[1]!;
  const name = pathname.split('/').pop()!;
  return Arn.format({ service: 'codecommit', region, resource: name }, stack);
}

export function messageGroupOf(repo: RepositoryEnv): string {
  return `${repo.name}/${repo.branch}`;
}

/** Stable construct id part per repository+branch (ids name resources, so they must not depend on list order). */
export function constructIdOf(repo: RepositoryEnv): string {
  return pascal(`${repo.name}-${repo.branch}`.replace(/[^A-Za-z0-9]+/g, '-'));
}

export function pascal(s: string): string {
  return s
    .split('-')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}
