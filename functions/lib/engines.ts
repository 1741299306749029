import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { EngineDeps } from '../../shared/engine/deps.ts';
import type { Logger } from '../../shared/ports.ts';
import { awsDeps } from '../../shared/runtime/aws-deps.ts';
import { awsSettings } from './aws-settings.ts';
import type { FunctionConfig } from './env-config.ts';

export { awsSettings } from './aws-settings.ts';

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
