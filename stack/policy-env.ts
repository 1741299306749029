/**
 * The installation policy as the construct takes it and hands it to the functions (`GITOPS_POLICY`). Kept apart from
 * the construct so the policy's schema is checked at synth by the same code the functions run.
 */

import { FunctionEnv } from '../shared/function-env.ts';
import { parsePolicy } from '../shared/policy/load.ts';
import type { InstallationPolicy } from '../shared/policy/schema.ts';

/** The policy as the construct takes it: the policy file's content (YAML read, or JSON). */
export type InstallationPolicyDocument = Omit<InstallationPolicy, 'origin'>;

/** `GITOPS_POLICY` for the sync, apply and drift functions, checked at synth so a bad policy never deploys. */
export function policyEnvironment(policy: InstallationPolicyDocument | undefined): Record<string, string> {
  if (!policy) return {};
  const { origin: _origin, ...document } = parsePolicy(JSON.stringify(policy), 'policy');
  const json = JSON.stringify(document);
  // Lambda allows 4 KB of environment per function, every variable included.
  if (Buffer.byteLength(json) > 3_072) {
    throw new Error(`policy: ${Buffer.byteLength(json)} bytes of JSON; the functions' environment takes at most 3072`);
  }
  return { [FunctionEnv.policy]: json };
}
