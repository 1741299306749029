import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClientFactory, roleSessionName } from '../../shared/adapters/aws/clients.ts';
import { FakeClock, SHA } from './fixtures.ts';

const sts = mockClient(STSClient);
let clock: FakeClock;
beforeEach(() => {
  sts.reset();
  clock = new FakeClock();
});

const ROLE = 'arn:aws:iam::210987654321:role/gitops-deployer';
const credentials = (expiresInMs: number, key = 'ASIAEXAMPLEEXAMPLE01') => ({
  Credentials: {
    AccessKeyId: key,
    SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    SessionToken: 'FwoGZXIvYXdzEXAMPLE',
    Expiration: new Date(clock.now().getTime() + expiresInMs),
  },
  AssumedRoleUser: { AssumedRoleId: 'AROAEXAMPLE:gitops', Arn: `${ROLE}/gitops` },
});

describe('roleSessionName', () => {
  it.each([
    { stack: 'web', commit: SHA, expected: 'gitops-web-3f78685' },
    { stack: 'my stack/with:odd*chars', commit: SHA, expected: 'gitops-my-stack-with-odd-chars-3f78685' },
    { stack: 'x'.repeat(100), commit: SHA, expected: `gitops-${'x'.repeat(49)}-3f78685` },
    { stack: 'api', commit: undefined, expected: 'gitops-api' },
  ])('$stack → $expected (2 to 64 chars of [\\w+=,.@-])', ({ stack, commit, expected }) => {
    const name = roleSessionName(stack, commit);
    expect(name).toBe(expected);
    expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});

describe('AwsClientFactory', () => {
  it('assumes the role with the session name and external id, and caches until 5 minutes before expiry', async () => {
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(credentials(3_600_000))
      .resolves(credentials(3_600_000, 'ASIAEXAMPLEEXAMPLE02'));
    const factory = new AwsClientFactory({ clock, sts: () => new STSClient({ region: 'eu-west-1' }) });
    const target = {
      region: 'eu-west-1',
      role: ROLE,
      externalId: 'acme-ext-1',
      sessionName: roleSessionName('web', SHA),
    };
    const provider = factory.credentialsFor(target);
    expect(provider).toBeDefined();

    const first = await provider?.();
    const second = await provider?.();
    expect(first?.accessKeyId).toBe('ASIAEXAMPLEEXAMPLE01');
    expect(second).toBe(first);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'gitops-web-3f78685',
      ExternalId: 'acme-ext-1',
      DurationSeconds: 3600,
    });

    clock.advance(54 * 60_000); // 6 minutes left: still cached
    expect((await provider?.())?.accessKeyId).toBe('ASIAEXAMPLEEXAMPLE01');
    clock.advance(2 * 60_000); // 4 minutes left: refreshed
    expect((await provider?.())?.accessKeyId).toBe('ASIAEXAMPLEEXAMPLE02');
    expect(factory.assumeRoleCalls).toBe(2);
  });

  it('shares one AssumeRole between concurrent callers, and uses the default chain without a role', async () => {
    sts.on(AssumeRoleCommand).resolves(credentials(3_600_000));
    const factory = new AwsClientFactory({ clock, sts: () => new STSClient({ region: 'eu-west-1' }) });
    const provider = factory.credentialsFor({ region: 'eu-west-1', role: ROLE });
    await Promise.all([provider?.(), provider?.(), provider?.()]);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(factory.credentialsFor({ region: 'eu-west-1' })).toBeUndefined();
  });

  it('gives one client per region and role', () => {
    const factory = new AwsClientFactory({ clock });
    const a = factory.cloudFormation({ region: 'eu-west-1', role: ROLE });
    expect(factory.cloudFormation({ region: 'eu-west-1', role: ROLE })).toBe(a);
    expect(factory.cloudFormation({ region: 'us-east-1', role: ROLE })).not.toBe(a);
    expect(a).toBeInstanceOf(CloudFormationClient);
  });

  it('keeps at most maxClients clients, dropping the least recently used', () => {
    const factory = new AwsClientFactory({ clock, maxClients: 2 });
    const a = factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-a-1111111' });
    const b = factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-b-1111111' });
    expect(factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-a-1111111' })).toBe(a); // a is recent
    factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-c-1111111' }); // evicts b
    expect(factory.cachedClients).toBe(2);
    expect(factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-a-1111111' })).toBe(a);
    expect(factory.cloudFormation({ region: 'eu-west-1', sessionName: 'gitops-b-1111111' })).not.toBe(b);
  });

  it('drops expired credentials and keeps at most maxCredentials', async () => {
    sts.on(AssumeRoleCommand).resolves(credentials(3_600_000));
    const factory = new AwsClientFactory({
      clock,
      maxCredentials: 3,
      sts: () => new STSClient({ region: 'eu-west-1' }),
    });
    for (const stack of ['a', 'b', 'c', 'd', 'e']) {
      await factory.credentialsFor({ region: 'eu-west-1', role: ROLE, sessionName: roleSessionName(stack, SHA) })?.();
    }
    expect(factory.cachedCredentials).toBe(3);
    clock.advance(2 * 3_600_000);
    await factory.credentialsFor({ region: 'eu-west-1', role: ROLE, sessionName: roleSessionName('f', SHA) })?.();
    expect(factory.cachedCredentials).toBe(1);
  });

  it('turns the SDK retries off for CloudFormation and CloudWatch: the applier and drift detector retry', async () => {
    const factory = new AwsClientFactory({ clock });
    const cfnClient = factory.cloudFormation({ region: 'eu-west-1' });
    expect(await cfnClient.config.maxAttempts()).toBe(1);
    expect(await factory.cloudWatch({ region: 'eu-west-1' }).config.maxAttempts()).toBe(1);
    // S3 is not retried by the callers: it keeps the SDK's standard retries.
    expect(await factory.s3({ region: 'eu-west-1' }).config.maxAttempts()).toBe(3);
  });

  it('reports a refused AssumeRole as AuthFailed', async () => {
    sts.on(AssumeRoleCommand).rejects(
      Object.assign(
        new Error(
          `User: arn:aws:sts::123456789012:assumed-role/apply is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
        ),
        {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        },
      ),
    );
    const factory = new AwsClientFactory({ clock, sts: () => new STSClient({ region: 'eu-west-1' }) });
    await expect(factory.credentialsFor({ region: 'eu-west-1', role: ROLE })?.()).rejects.toMatchObject({
      reason: 'AuthFailed',
    });
  });
});
