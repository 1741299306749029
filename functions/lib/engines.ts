import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { Logger } from '../../shared/ports.ts';
import { type AwsSettings, awsDeps } from '../../shared/runtime/aws-deps.ts';
import type { FunctionConfig } from './config.ts';

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
    cacheDir,
    logger,
    driftValues: config.driftValues,
  };
}

/**
 * Engine ports per repository URL, kept for the container's life: the object cache of each repository lives under
 * /tmp, so a warm container's next fetch transfers only new objects.
 */
export function engineCache(config: FunctionConfig, logger: Logger): (repoUrl: string) => EngineDeps {
  const engines = new Map<string, EngineDeps>();
  return (repoUrl) => {
    let deps = engines.get(repoUrl);
    if (!deps) {
      const cacheDir = join('/tmp', 'gitops-cache', createHash('sha256').update(repoUrl).digest('hex').slice(0, 16));
      deps = awsDeps(awsSettings(config, logger, cacheDir), repoUrl);
      engines.set(repoUrl, deps);
    }
    return deps;
  };
}
