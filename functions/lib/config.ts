/**
 * The functions' configuration with the installation policy (`GITOPS_POLICY`), read synchronously. The functions
 * themselves use loadConfig (functions/lib/env-config.ts), which says why; this is the same result for the tests.
 */
import { FunctionEnv } from '../../shared/function-env.ts';
import { parsePolicy } from '../../shared/policy/load.ts';
import { type FunctionConfig, readEnvConfig } from './env-config.ts';

export { type FunctionConfig, findRepository } from './env-config.ts';

export function readConfig(env: NodeJS.ProcessEnv, required: readonly (keyof typeof FunctionEnv)[]): FunctionConfig {
  const config = readEnvConfig(env, required);
  const policy = env[FunctionEnv.policy];
  return policy ? { ...config, policy: parsePolicy(policy, FunctionEnv.policy) } : config;
}
