import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvSecrets, parseDotenv, secretVariable } from '../../shared/adapters/local/secrets-env.ts';
import { type ConfigError, Reason } from '../../shared/errors.ts';
import { sanitize } from '../../shared/sanitize.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-secrets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('EnvSecrets', () => {
  it.each([
    ['webhook-secret', 'GITOPS_WEBHOOK_SECRET'],
    ['git-token', 'GITOPS_GIT_TOKEN'],
    ['slack-webhook-url', 'GITOPS_SLACK_WEBHOOK_URL'],
    ['github-token', 'GITOPS_GITHUB_TOKEN'],
    ['teams-webhook', 'GITOPS_SECRET_TEAMS_WEBHOOK'],
    ['pagerDuty.key', 'GITOPS_SECRET_PAGER_DUTY_KEY'],
  ])('reads %s from %s', async (name, variable) => {
    // Prepare
    const secrets = new EnvSecrets({ [variable]: `value-of-${name}` });

    // Act
    const value = await secrets.get(name);

    // Assess
    expect(secretVariable(name)).toBe(variable);
    expect(value).toBe(`value-of-${name}`);
  });

  it('answers undefined for a secret that is not set or empty', async () => {
    // Prepare
    const secrets = new EnvSecrets({ GITOPS_GIT_TOKEN: '' });

    // Act / Assess
    expect(await secrets.get('git-token')).toBeUndefined();
    expect(await secrets.get('webhook-secret')).toBeUndefined();
  });

  it('falls back to the .env file, with the real environment winning', async () => {
    // Prepare
    const file = join(dir, '.env');
    await writeFile(
      file,
      [
        '# local secrets',
        'export GITOPS_WEBHOOK_SECRET="from-file-secret"',
        "GITOPS_GIT_TOKEN='file-token-1'",
        '',
      ].join('\n'),
    );
    const secrets = new EnvSecrets({ GITOPS_GIT_TOKEN: 'env-token-1' }, file);

    // Act
    const webhook = await secrets.get('webhook-secret');
    const token = await secrets.get('git-token');

    // Assess
    expect(webhook).toBe('from-file-secret');
    expect(token).toBe('env-token-1');
  });

  it('treats a missing .env file as empty', async () => {
    // Prepare
    const secrets = new EnvSecrets({}, join(dir, 'absent.env'));

    // Act / Assess
    expect(await secrets.get('webhook-secret')).toBeUndefined();
  });

  it('registers every value it hands out so sanitize masks it', async () => {
    // Prepare
    const secrets = new EnvSecrets({ GITOPS_WEBHOOK_SECRET: 'registered-secret-4242' });

    // Act
    await secrets.get('webhook-secret');

    // Assess
    expect(sanitize('the secret is registered-secret-4242.')).toBe('the secret is ***.');
  });
});

describe('parseDotenv', () => {
  it('understands quotes, escapes and inline comments', () => {
    // Act
    const values = parseDotenv('A=plain # note\nB="line\\nbreak"\nC=\'#not a comment\'\n\n#x=y\nD = spaced\n');

    // Assess
    expect(values).toEqual({ A: 'plain', B: 'line\nbreak', C: '#not a comment', D: 'spaced' });
  });

  it('names the line of a malformed entry without echoing it', () => {
    // Act
    const error = (() => {
      try {
        parseDotenv('A=1\nthis-is-hunter2-secret\n', 'dev.env');
      } catch (err) {
        return err as ConfigError;
      }
    })();

    // Assess
    expect(error?.reason).toBe(Reason.InvalidConfig);
    expect(error?.describe()).toBe('dev.env:2: expected KEY=VALUE');
  });
});
