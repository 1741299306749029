import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmSecrets } from '../../shared/adapters/aws/secrets-ssm.ts';
import { sanitize } from '../../shared/sanitize.ts';
import { FakeClock } from './fixtures.ts';

const ssm = mockClient(SSMClient);
let clock: FakeClock;
beforeEach(() => {
  ssm.reset();
  clock = new FakeClock();
});
const parameter = (name: string, value: string) => ({
  Parameter: {
    Name: name,
    Type: 'SecureString' as const,
    Value: value,
    Version: 1,
    ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${name}`,
  },
});
const secrets = (extra = {}) => new SsmSecrets({ client: new SSMClient({ region: 'eu-west-1' }), clock, ...extra });

describe('SsmSecrets', () => {
  it.each([
    { name: 'webhook-secret', prefix: undefined, parameter: '/lambda-gitops/webhook-secret' },
    { name: 'git-token', prefix: '/acme/gitops/', parameter: '/acme/gitops/git-token' },
    { name: '/shared/slack-url', prefix: '/acme', parameter: '/shared/slack-url' },
  ])('reads $name from $parameter with decryption', async ({ name, prefix, parameter: p }) => {
    ssm.on(GetParameterCommand).resolves(parameter(p, 'swordfish-123456'));
    expect(await secrets(prefix ? { prefix } : {}).get(name)).toBe('swordfish-123456');
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: p, WithDecryption: true });
  });

  it('caches a value for the TTL, then reads it again', async () => {
    ssm
      .on(GetParameterCommand)
      .resolvesOnce(parameter('/lambda-gitops/git-token', 'ghp_first0000000000000000000000'))
      .resolves(parameter('/lambda-gitops/git-token', 'ghp_second000000000000000000000'));
    const s = secrets({ ttlMs: 60_000 });
    expect(await s.get('git-token')).toBe('ghp_first0000000000000000000000');
    clock.advance(59_000);
    expect(await s.get('git-token')).toBe('ghp_first0000000000000000000000');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    clock.advance(2_000);
    expect(await s.get('git-token')).toBe('ghp_second000000000000000000000');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('answers undefined for ParameterNotFound and asks again next time', async () => {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ $metadata: { httpStatusCode: 400 }, message: '' }));
    const s = secrets();
    expect(await s.get('slack-webhook-url')).toBeUndefined();
    expect(await s.get('slack-webhook-url')).toBeUndefined();
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('registers values so they are masked everywhere', async () => {
    ssm.on(GetParameterCommand).resolves(parameter('/lambda-gitops/webhook-secret', 'correct-horse-battery'));
    await secrets().get('webhook-secret');
    expect(sanitize('bad signature for correct-horse-battery')).toBe('bad signature for ***');
  });

  it('reports access errors as SecretMissing without the value', async () => {
    ssm.on(GetParameterCommand).rejects(
      Object.assign(
        new Error('User: arn:aws:sts::123456789012:assumed-role/fn is not authorized to perform: ssm:GetParameter'),
        {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        },
      ),
    );
    await expect(secrets().get('git-token')).rejects.toMatchObject({ reason: 'SecretMissing', retryable: false });
  });
});
