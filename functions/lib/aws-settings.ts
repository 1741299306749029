import type { Logger } from '../../shared/ports.ts';
import type { AwsSettings } from '../../shared/runtime/aws-ports.ts';
import type { FunctionConfig } from './env-config.ts';

/** The AWS adapters' settings from a function's configuration. */
export function awsSettings(config: FunctionConfig, logger: Logger, cacheDir = '/tmp/gitops-cache'): AwsSettings {
  return {
    bucket: config.bucket,
    prefix: config.statePrefix,
    busName: config.busName,
    secretsPrefix: config.secretsPrefix,
    region: config.region,
    stackNamePrefix: config.stackNamePrefix,
    ...(config.cfnServiceRoleArn ? { serviceRole: config.cfnServiceRoleArn } : {}),
    stackTimeoutMs: config.applyTimeoutSeconds * 1000,
    ...(config.trustedKeyParameters.length ? { trustedKeyParameters: config.trustedKeyParameters } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
    ...(config.account ? { account: config.account } : {}),
    ...(config.artifactBucket ? { artifactBucket: config.artifactBucket } : {}),
    cacheDir,
    logger,
    driftValues: config.driftValues,
  };
}
