import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import { driftValuesSetting } from '../../shared/engine/drift-values.ts';
import { ConfigError, Reason } from '../../shared/errors.ts';
import { accountOfRole } from '../../shared/policy/check.ts';
import type { InstallationPolicy } from '../../shared/policy/schema.ts';
import type { Logger, StateStore } from '../../shared/ports.ts';
import { type AwsSettings, awsDeps, awsPorts } from '../../shared/runtime/aws-deps.ts';
import { cacheDirFor } from '../../shared/runtime/local-deps.ts';
import type { CliOptions } from './args.ts';

/** The stack `cdk deploy` creates unless told otherwise; its outputs name the bucket and the bus. */
export const DEFAULT_INSTALLATION_STACK = 'LambdaGitOps';

/** `--target aws`: the deployed installation's adapters, with the SDK's standard configuration. */
export async function awsDepsFor(
  o: CliOptions,
  repo: string,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  policy?: InstallationPolicy,
  clients?: AwsSettings['clients'],
): Promise<EngineDeps> {
  // plan and sync make change sets: they run with the installation's service role, as the functions do.
  const changeSets = o.command === 'plan' || o.command === 'sync';
  const settings = await settingsFor(o, env, logger, changeSets);
  // On a laptop the resource specification is worth loading: a refused template fails before any change set.
  return {
    ...awsDeps({ ...settings, ...(policy ? { policy } : {}), ...(clients ? { clients } : {}) }, repo),
    checkResources: true,
  };
}

export async function awsStateFor(o: CliOptions, env: NodeJS.ProcessEnv): Promise<StateStore> {
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
  return awsPorts(await settingsFor(o, env, silent, false)).state;
}

async function settingsFor(
  o: CliOptions,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  changeSets: boolean,
): Promise<AwsSettings> {
  const region = o.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ConfigError(Reason.InvalidConfig, '--target aws needs a region: set AWS_REGION or pass --region', {
      field: '--region',
    });
  }
  let bucket = o.bucket ?? env.GITOPS_STATE_BUCKET;
  let busName = o.bus ?? env.GITOPS_BUS_NAME;
  let serviceRole = o.serviceRole ?? env.GITOPS_CFN_SERVICE_ROLE_ARN;
  const needsRole = changeSets && !serviceRole && !o.useOwnCredentials;
  if (!bucket || !busName || needsRole) {
    const outputs = await installationOutputs(o.stackOutputs ?? env.GITOPS_STACK ?? DEFAULT_INSTALLATION_STACK, region);
    bucket ??= outputs.StateBucketName;
    busName ??= outputs.EventBusName;
    if (changeSets && !o.useOwnCredentials) serviceRole ??= outputs.CfnServiceRoleArn;
  }
  if (!bucket || !busName) {
    throw new ConfigError(
      Reason.InvalidConfig,
      '--target aws needs --bucket and --bus (or a deployed stack to read them from)',
      {
        field: '--bucket',
      },
    );
  }
  if (changeSets && !serviceRole && !o.useOwnCredentials) {
    throw new ConfigError(
      Reason.InvalidConfig,
      "--target aws makes change sets with the installation's CloudFormation service role, as the functions do, and none was found (the installation stack's CfnServiceRoleArn output): pass --service-role ARN, or --use-own-credentials to run them with your own credentials",
      { field: '--service-role' },
    );
  }
  if (serviceRole && !accountOfRole(serviceRole)) {
    throw new ConfigError(Reason.InvalidConfig, `--service-role: "${serviceRole}" is not an IAM role ARN`, {
      field: '--service-role',
    });
  }
  const account = accountOfRole(serviceRole);
  return {
    bucket,
    busName,
    region,
    // Without --region the region is the operator's environment: it finds the installation, but moves no stack.
    ...(o.region === undefined ? { ambientRegion: true } : {}),
    ...(serviceRole ? { serviceRole } : {}),
    ...(account ? { account } : {}),
    ...(env.GITOPS_SECRETS_PREFIX ? { secretsPrefix: env.GITOPS_SECRETS_PREFIX } : {}),
    ...(env.GITOPS_STACK_NAME_PREFIX !== undefined ? { stackNamePrefix: env.GITOPS_STACK_NAME_PREFIX } : {}),
    driftValues: driftValuesSetting(env.GITOPS_DRIFT_VALUES),
    ...(env.GITOPS_ARTIFACT_BUCKET ? { artifactBucket: env.GITOPS_ARTIFACT_BUCKET } : {}),
    ...(env.GITOPS_ACCOUNT_ID ? { account: env.GITOPS_ACCOUNT_ID } : {}),
    ...(env.GITOPS_TRUSTED_KEY_PARAMETERS
      ? {
          trustedKeyParameters: env.GITOPS_TRUSTED_KEY_PARAMETERS.split(',')
            .map((n) => n.trim())
            .filter(Boolean),
        }
      : {}),
    cacheDir: join(cacheDirFor(o.repo ?? 'aws'), 'objects'),
    logger,
  };
}

/** Reads the installation stack's outputs (`StateBucketName`, `EventBusName`). */
async function installationOutputs(stackName: string, region: string): Promise<Record<string, string>> {
  const cfn = new CloudFormationClient({ region });
  try {
    const res = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const out: Record<string, string> = {};
    for (const o of res.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue) out[o.OutputKey] = o.OutputValue;
    return out;
  } catch (err) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `could not read the outputs of stack ${stackName} in ${region} (pass --bucket, --bus and --service-role or --use-own-credentials, or --stack-outputs NAME): ${(err as Error).message}`,
      { field: '--stack-outputs', cause: err },
    );
  } finally {
    cfn.destroy();
  }
}
