/**
 * The Lambda bundles' stand-in for the SDK's default credential chain: an SDK client built with it signs with the
 * execution role's credentials from the environment, as in Lambda, and says so plainly when they are missing.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../functions/lib/lambda-credentials.ts';

const KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const clientCredentials = () =>
  new S3Client({ region: 'eu-west-1', credentialDefaultProvider: defaultProvider }).config.credentials();

describe('Lambda credentials (the bundles alias @aws-sdk/credential-provider-node to this)', () => {
  it("gives an SDK client the execution role's session credentials from the environment", async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLEEXAMPLE01';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    process.env.AWS_SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE';
    delete process.env.AWS_CREDENTIAL_EXPIRATION;
    expect(await clientCredentials()).toMatchObject({
      accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
    });
  });

  it('fails with the SDK credentials error, never by reaching for a profile or instance metadata', async () => {
    for (const k of KEYS) delete process.env[k];
    await expect(clientCredentials()).rejects.toMatchObject({
      name: 'CredentialsProviderError',
      message: expect.stringMatching(/Unable to find environment variable credentials/),
    });
  });
});
