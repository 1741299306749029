/**
 * The functions' configuration, read once per container from the environment the CDK stack sets
 * (shared/function-env.ts names every variable). A missing or malformed variable is an error naming it.
 *
 * The policy parser (the policy's zod schema and the YAML reader) is not imported at the top: the webhook and notify
 * functions never receive nor use `GITOPS_POLICY` (readEnvConfig), and the others load it with loadConfig only when
 * it is set, so no cold start pays its module init for nothing.
 */
import { driftValuesSetting } from '../../shared/engine/drift-values.ts';
import { ConfigError, Reason } from '../../shared/errors.ts';
import { FunctionEnv, type RepositoryEnv } from '../../shared/function-env.ts';
import { DEFAULT_STACK_NAME_PREFIX } from '../../shared/model.ts';
import type { InstallationPolicy } from '../../shared/policy/schema.ts';

export interface FunctionConfig {
  readonly region: string;
  readonly busName: string;
  readonly bucket: string;
  readonly statePrefix: string;
  readonly secretsPrefix: string;
  readonly repositories: readonly RepositoryEnv[];
  readonly applyQueueUrl?: string;
  readonly alertsTopicArn?: string;
  readonly githubApiUrl: string;
  readonly slack: boolean;
  readonly githubStatus: boolean;
  readonly applyTimeoutSeconds: number;
  /** Managed stacks are named `<prefix>…`: the functions' CloudFormation rights cover only those. */
  readonly stackNamePrefix: string;
  /** CloudFormation service role for stacks in the installation's own account that name none. */
  readonly cfnServiceRoleArn?: string;
  /** The installation's account (`GITOPS_ACCOUNT_ID`). */
  readonly account?: string;
  /** Artifact bucket pattern (`GITOPS_ARTIFACT_BUCKET`). */
  readonly artifactBucket?: string;
  /** Receives of an apply message before a retryable failure is final (the queue's maxReceiveCount). */
  readonly applyMaxReceives: number;
  /** SSM parameters of the OpenPGP keys the installation trusts; none: the repository's own `signing` decides. */
  readonly trustedKeyParameters: readonly string[];
  /** Keep drift values, redacted (`GITOPS_DRIFT_VALUES=redacted`); otherwise paths and kinds only. */
  readonly driftValues: boolean;
  /** The installation policy (`GITOPS_POLICY`); none: each commit decides what it deploys. */
  readonly policy?: InstallationPolicy;
  /** Pull-request previews are on. */
  readonly previews: boolean;
}

/** The configuration without the installation policy (`policy` is never set): for functions that do not use it. */
export function readEnvConfig(env: NodeJS.ProcessEnv, required: readonly (keyof typeof FunctionEnv)[]): FunctionConfig {
  for (const key of required) {
    const name = FunctionEnv[key];
    if (!env[name]) {
      throw new ConfigError(Reason.InvalidConfig, `environment variable ${name} is not set`, { field: name });
    }
  }
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    busName: env[FunctionEnv.busName] ?? '',
    bucket: env[FunctionEnv.stateBucket] ?? '',
    statePrefix: env[FunctionEnv.statePrefix] ?? '',
    secretsPrefix: env[FunctionEnv.secretsPrefix] ?? '/lambda-gitops',
    repositories: parseRepositories(env[FunctionEnv.repositories]),
    ...(env[FunctionEnv.applyQueueUrl] ? { applyQueueUrl: env[FunctionEnv.applyQueueUrl] } : {}),
    ...(env[FunctionEnv.alertsTopicArn] ? { alertsTopicArn: env[FunctionEnv.alertsTopicArn] } : {}),
    githubApiUrl: env[FunctionEnv.githubApiUrl] || 'https://api.github.com',
    slack: env[FunctionEnv.slack] === 'true',
    githubStatus: env[FunctionEnv.githubStatus] === 'true',
    applyTimeoutSeconds: Number(env[FunctionEnv.applyTimeoutSeconds] ?? 840) || 840,
    stackNamePrefix: env[FunctionEnv.stackNamePrefix] ?? DEFAULT_STACK_NAME_PREFIX,
    ...(env[FunctionEnv.cfnServiceRoleArn] ? { cfnServiceRoleArn: env[FunctionEnv.cfnServiceRoleArn] } : {}),
    ...(env[FunctionEnv.accountId] ? { account: env[FunctionEnv.accountId] } : {}),
    ...(env[FunctionEnv.artifactBucket] ? { artifactBucket: env[FunctionEnv.artifactBucket] } : {}),
    applyMaxReceives: Number(env[FunctionEnv.applyMaxReceives] ?? 3) || 3,
    trustedKeyParameters: (env[FunctionEnv.trustedKeyParameters] ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    driftValues: driftValuesSetting(env[FunctionEnv.driftValues], FunctionEnv.driftValues),
    previews: env[FunctionEnv.previews] === 'true',
  };
}

/**
 * The whole configuration, the installation policy included, with the policy parser (zod and the YAML reader) loaded
 * only when `GITOPS_POLICY` is set: the apply and drift worker functions otherwise need neither, and loading them at
 * the top would make every cold start pay their module init. Tests without a policy use readEnvConfig.
 */
export async function loadConfig(
  env: NodeJS.ProcessEnv,
  required: readonly (keyof typeof FunctionEnv)[],
): Promise<FunctionConfig> {
  const config = readEnvConfig(env, required);
  const policy = env[FunctionEnv.policy];
  if (!policy) return config;
  const { parsePolicy } = await import('../../shared/policy/load.ts');
  return { ...config, policy: parsePolicy(policy, FunctionEnv.policy) };
}

function parseRepositories(text: string | undefined): RepositoryEnv[] {
  if (!text) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(Reason.InvalidConfig, `${FunctionEnv.repositories} is not JSON`, {
      field: FunctionEnv.repositories,
      cause: err,
    });
  }
  if (!Array.isArray(value) || !value.every((r) => r && typeof r.url === 'string' && typeof r.branch === 'string')) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `${FunctionEnv.repositories} must be a list of {name, url, branch, provider}`,
      {
        field: FunctionEnv.repositories,
      },
    );
  }
  return value as RepositoryEnv[];
}

/** Which configured repository a push or request is about: by URL, or by `owner/name`. */
export function findRepository(
  repositories: readonly RepositoryEnv[],
  ref: { readonly url?: string; readonly name?: string },
): RepositoryEnv | undefined {
  const norm = (u: string) =>
    u
      .toLowerCase()
      .replace(/\.git$/, '')
      .replace(/\/+$/, '');
  return repositories.find(
    (r) =>
      (ref.url && norm(r.url) === norm(ref.url)) ||
      (ref.name &&
        (r.name.toLowerCase() === ref.name.toLowerCase() || norm(r.url).endsWith(`/${ref.name.toLowerCase()}`))),
  );
}
