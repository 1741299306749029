/**
 * The policy checker's rules one by one, on rendered stacks of an in-memory repository: allow lists, nested
 * templates that cannot be read, nesting bounds, repository matching, and the policy as the construct and `-c policy`
 * hand it to the functions.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepoConfig } from '../../shared/config/load.ts';
import { RepoTree } from '../../shared/config/repo-tree.ts';
import { checkStack, repositoryPolicy } from '../../shared/policy/check.ts';
import { parsePolicy } from '../../shared/policy/load.ts';
import { renderStacks } from '../../shared/render/render.ts';
import { configFromContext } from '../../stack/context.ts';
import { policyEnvironment } from '../../stack/policy-env.ts';
import { memorySnapshot } from '../config/memory-snapshot.ts';

const REPO = 'https://git.example.com/acme/infra.git';
const GITOPS = `environments:
  - name: dev
    region: eu-west-1
stacks:
  - name: app
    template: app.yaml
`;
const policy = (rules: string) =>
  parsePolicy(
    `repositories:\n  - repo: https://GIT.example.com/acme/infra/\n    capabilities: [CAPABILITY_AUTO_EXPAND, CAPABILITY_IAM]\n${rules}    environments:\n      dev: {}\n`,
    'policy.yaml',
  );

async function violation(files: Record<string, string>, rules: string): Promise<Error | undefined> {
  const snapshot = memorySnapshot({ 'gitops.yaml': GITOPS, ...files });
  const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-west-1' });
  const { rendered, errors } = await renderStacks(snapshot, config);
  expect(errors).toEqual([]);
  const scoped = repositoryPolicy(policy(rules), REPO);
  return checkStack(rendered[0]!, scoped, { tree: await RepoTree.of(snapshot), templateFile: 'app.yaml' }).then(
    () => undefined,
    (err: Error) => err,
  );
}

const NESTED = (url: string) => `Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ${url}
`;

describe('resource types', () => {
  it('an allow list refuses every type it does not match, naming the resource', async () => {
    const err = await violation(
      { 'app.yaml': 'Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  B:\n    Type: AWS::S3::Bucket\n' },
      '    resourceTypes: { allow: ["AWS::SQS::*"] }\n',
    );
    expect(err?.message).toContain('Resources.B: type AWS::S3::Bucket is not in the allowed types (AWS::SQS::*)');
    expect(err?.message).toContain('policy.yaml: repositories[0].resourceTypes.allow');
  });

  it('deny wins over allow', async () => {
    const err = await violation(
      { 'app.yaml': 'Resources:\n  U:\n    Type: AWS::IAM::User\n' },
      '    resourceTypes: { allow: ["*"], deny: ["AWS::IAM::User"] }\n',
    );
    expect(err).toMatchObject({ reason: 'PolicyViolation' });
  });

  it('a nested template outside the repository cannot be checked, so it is refused under type rules', async () => {
    const err = await violation(
      { 'app.yaml': NESTED('https://s3.amazonaws.com/bucket/child.yaml') },
      '    resourceTypes: { deny: ["AWS::IAM::*"] }\n',
    );
    expect(err?.message).toContain(
      'the nested template https://s3.amazonaws.com/bucket/child.yaml cannot be read here',
    );
  });

  it('nested templates are followed through levels, and only so deep', async () => {
    const chain: Record<string, string> = { 'app.yaml': NESTED('n1.yaml') };
    for (let i = 1; i <= 6; i++) chain[`n${i}.yaml`] = NESTED(`n${i + 1}.yaml`);
    chain['n7.yaml'] = 'Resources:\n  U:\n    Type: AWS::IAM::User\n';
    // Too deep for the renderer, which packages nested templates before any policy check: refused by the limit.
    const snapshot = memorySnapshot({ 'gitops.yaml': GITOPS, ...chain });
    const { errors } = await renderStacks(snapshot, await loadRepoConfig(snapshot, { defaultRegion: 'eu-west-1' }));
    expect(errors[0]?.error).toMatchObject({ reason: 'LimitExceeded' });
    expect(errors[0]?.error.message).toContain('nested templates go deeper than 5 levels');

    const shallow = await violation(
      { 'app.yaml': NESTED('sub/n1.yaml'), 'sub/n1.yaml': NESTED('n2.yaml'), 'sub/n2.yaml': chain['n7.yaml']! },
      '    resourceTypes: { deny: ["AWS::IAM::*"] }\n',
    );
    expect(shallow?.message).toContain('sub/n2.yaml: Resources.U: type AWS::IAM::User is denied by "AWS::IAM::*"');
  });

  it('without type rules nothing nested is read', async () => {
    expect(await violation({ 'app.yaml': NESTED('https://example.com/x.yaml') }, '')).toBeUndefined();
  });
});

describe('the policy as the installation hands it over', () => {
  it('matches a repository however its URL is spelt (case, .git, trailing slash)', () => {
    expect(repositoryPolicy(policy(''), 'https://git.example.com/acme/infra').where).toBe(
      'policy.yaml: repositories[0]',
    );
    expect(() => repositoryPolicy(policy(''), 'https://git.example.com/acme/other.git')).toThrow(
      'repository https://git.example.com/acme/other.git is not named in the installation policy',
    );
  });

  it('-c policy=<file> is read and checked at synth, and reaches the functions as GITOPS_POLICY JSON', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gitops-policy-ctx-')), 'policy.yaml');
    writeFileSync(
      file,
      `repositories:\n  - repo: ${REPO}\n    environments:\n      prod: { branch: release, accounts: [123456789012] }\n`,
    );
    const { gitops } = configFromContext((key) => (key === 'policy' ? file : undefined));
    const env = policyEnvironment(gitops.policy);
    const back = parsePolicy(env.GITOPS_POLICY ?? '', 'GITOPS_POLICY');
    expect(back.repositories[0]?.environments.prod).toEqual({ branch: 'release', accounts: ['123456789012'] });

    writeFileSync(file, 'repositories:\n  - repo: x\n    environments: { dev: { role: admin } }\n');
    expect(() => configFromContext((key) => (key === 'policy' ? file : undefined))).toThrow(
      'repositories[0].environments.dev.role: not an IAM role ARN',
    );
  });
});
