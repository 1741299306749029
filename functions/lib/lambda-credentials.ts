/**
 * What the Lambda bundles get in place of `@aws-sdk/credential-provider-node` (the alias in stack/function-bundling.ts,
 * applied at bundling time; the CLI and the tests keep the SDK's full chain).
 *
 * Every SDK client's default configuration imports the whole default chain: environment, shared config and
 * credentials files, SSO, credential_process, web identity, container and instance metadata, and the STS and SSO
 * clients some of them need. In Lambda the execution role's credentials are always in the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which is the first link of that chain and the one that
 * answers there, so the rest never runs; it only costs about 130 KB of bundle and 8–12 ms of module init in each
 * function (bench/cold-start.ts). Role assumption for other accounts is explicit (shared/adapters/aws/clients.ts) and starts
 * from these credentials.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type FromEnvInit = Parameters<typeof fromEnv>[0];

/** Same name and call shape as the SDK's `defaultProvider`, which the clients' runtime configuration calls. */
export const defaultProvider = (init?: FromEnvInit): ReturnType<typeof fromEnv> => fromEnv(init);
