/**
 * Bad manifests and templates committed to a real repository that is already applied: every one ends in a Sync Failed
 * event with its own reason, nothing is requested or applied, and the applied state (state records apart from the
 * attempt, rendered artifacts) is exactly what it was.
 */
import { describe, expect, it } from 'vitest';
import { sync } from '../../shared/engine/sync.ts';
import type { FileSpec } from '../helpers/git-repo.ts';
import { appliedDigest, BASE_FILES, GITOPS, smallRepo, TEMPLATE } from './fixture.ts';

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, FileSpec>>;
  readonly reason: string;
  /** Where the message points: a file, field or line. */
  readonly says?: RegExp;
}

const gitops = (text: string) => ({ 'gitops.yaml': text });
const appTemplate = (text: string) => ({ 'templates/app.yaml': text });
/** The app stack entry of gitops.yaml with `extra` lines added to it. */
const appEntry = (extra: string) =>
  gitops(GITOPS.replace('    template: templates/app.yaml\n', `    template: templates/app.yaml\n${extra}`));

const bomb = (levels: number) => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
};

const tags = (n: number) => `    tags:\n${Array.from({ length: n }, (_, i) => `      t${i}: v${i}\n`).join('')}`;

const dynamicRefs = (n: number) =>
  TEMPLATE.replace(
    'Outputs:',
    `  Params:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: "${Array.from(
      { length: n },
      (_, i) => `{{resolve:ssm:/p/${i}}}`,
    ).join(',')}"\nOutputs:`,
  );

const cases: Case[] = [
  // ---- YAML itself
  { name: 'gitops.yaml that is not YAML', files: gitops('environments: [\n  - name: dev\n'), reason: 'InvalidConfig' },
  {
    name: 'a template that is not YAML',
    files: appTemplate('Resources:\n  Bad: [unclosed\n'),
    reason: 'InvalidTemplate',
  },
  {
    name: 'a JSON template with a syntax error',
    files: { ...appEntry(''), 'templates/app.yaml': '{"Resources": {"Q": {"Type": "AWS::SQS::Queue",}' },
    reason: 'InvalidTemplate',
  },
  {
    name: 'duplicate keys in gitops.yaml',
    files: gitops(`${GITOPS}environments:\n  - name: prod\n`),
    reason: 'InvalidConfig',
    says: /gitops\.yaml/,
  },
  {
    name: 'duplicate keys in a template',
    files: appTemplate(
      TEMPLATE.replace('      VisibilityTimeout: 30\n', '      VisibilityTimeout: 30\n      VisibilityTimeout: 40\n'),
    ),
    reason: 'InvalidTemplate',
    says: /templates\/app\.yaml/,
  },
  {
    name: 'an unknown tag in a template',
    files: appTemplate(TEMPLATE.replace('!Ref Size', '!Reff Size')),
    reason: 'InvalidTemplate',
    says: /Reff/,
  },
  {
    name: 'an unknown tag in gitops.yaml',
    files: gitops(GITOPS.replace('region: eu-west-1', 'region: !Env REGION')),
    reason: 'InvalidConfig',
  },
  {
    name: 'an alias bomb in a template',
    files: appTemplate(`${bomb(9)}\n${TEMPLATE}`),
    reason: 'InvalidTemplate',
    says: /alias/,
  },
  { name: 'an alias bomb in gitops.yaml', files: gitops(`${bomb(9)}\n${GITOPS}`), reason: 'InvalidConfig' },
  {
    name: 'a template that is a list',
    files: appTemplate('- Resources\n'),
    reason: 'InvalidTemplate',
  },
  {
    name: 'a template without Resources',
    files: appTemplate('AWSTemplateFormatVersion: "2010-09-09"\nDescription: nothing\n'),
    reason: 'InvalidTemplate',
  },
  // ---- wrong types and unknown fields
  {
    name: 'environments given as a string',
    files: gitops(GITOPS.replace(/environments:\n.*\n.*\n/, 'environments: dev\n')),
    reason: 'InvalidConfig',
  },
  {
    name: 'parameters given as a list',
    files: gitops(GITOPS.replace('      Size: "2"\n', '      - Size\n')),
    reason: 'InvalidConfig',
  },
  {
    name: 'dependsOn given as a number',
    files: gitops(GITOPS.replace('dependsOn: [app]', 'dependsOn: 7')),
    reason: 'InvalidConfig',
  },
  {
    name: 'syncPolicy.prune given as a word',
    files: gitops(
      GITOPS.replace('    region: eu-west-1\n', '    region: eu-west-1\n    syncPolicy: { prune: sometimes }\n'),
    ),
    reason: 'InvalidConfig',
  },
  {
    name: 'a misspelt stack field',
    files: gitops(GITOPS.replace('template: templates/web.yaml', 'tempalte: templates/web.yaml')),
    reason: 'InvalidConfig',
    says: /tempalte|template/,
  },
  {
    name: 'an unknown top-level field',
    files: gitops(`${GITOPS}notifcations: []\n`),
    reason: 'InvalidConfig',
    says: /notifcations/,
  },
  {
    name: 'an unknown environment in a stack',
    files: appEntry('    environments: [qa]\n'),
    reason: 'InvalidConfig',
    says: /qa/,
  },
  { name: 'an invalid stack name pattern', files: appEntry('    stackName: "1-{env}!"\n'), reason: 'InvalidConfig' },
  {
    name: 'signing.required without any key',
    files: gitops(`${GITOPS}signing:\n  required: true\n`),
    reason: 'InvalidConfig',
  },
  {
    name: 'a deployment file with an unknown field',
    files: {
      ...gitops(`${GITOPS}  - deploymentFile: deploy/extra.yaml\n`),
      'deploy/extra.yaml': 'template-file-path: templates/app.yaml\nparamters:\n  Size: "1"\n',
    },
    reason: 'InvalidConfig',
    says: /paramters/,
  },
  // ---- paths
  {
    name: 'a missing template',
    files: gitops(GITOPS.replace('templates/web.yaml', 'templates/gone.yaml')),
    reason: 'MissingFile',
    says: /gone\.yaml/,
  },
  {
    name: 'a template path with ..',
    files: gitops(GITOPS.replace('templates/web.yaml', 'templates/../../outside.yaml')),
    reason: 'PathEscape',
  },
  {
    name: 'an absolute template path',
    files: gitops(GITOPS.replace('templates/web.yaml', '/etc/hosts')),
    reason: 'PathEscape',
  },
  {
    name: 'template-file-path with .. in a deployment file',
    files: {
      ...gitops(`${GITOPS}  - deploymentFile: deploy/extra.yaml\n`),
      'deploy/extra.yaml': 'template-file-path: ../templates/app.yaml\n',
    },
    reason: 'PathEscape',
  },
  {
    name: 'an absolute template-file-path in a deployment file',
    files: {
      ...gitops(`${GITOPS}  - deploymentFile: deploy/extra.yaml\n`),
      'deploy/extra.yaml': 'template-file-path: /etc/hosts\n',
    },
    reason: 'PathEscape',
  },
  {
    name: 'a template symlinked out of the repository',
    files: { 'templates/web.yaml': { symlink: '../../../../etc/hosts' } },
    reason: 'PathEscape',
  },
  {
    name: 'a template symlinked to an absolute path',
    files: { 'templates/web.yaml': { symlink: '/etc/hosts' } },
    reason: 'PathEscape',
  },
  {
    name: 'a template folder symlinked out of the repository',
    files: { ...gitops(GITOPS.replace('templates/web.yaml', 'linked/web.yaml')), linked: { symlink: '..' } },
    reason: 'PathEscape',
  },
  // ---- CloudFormation limits
  {
    name: 'a 10 MB template',
    files: appTemplate(`${TEMPLATE}Metadata:\n  Padding: "${'x'.repeat(10 * 1024 * 1024)}"\n`),
    reason: 'LimitExceeded',
  },
  { name: 'more than 50 tags', files: appEntry(tags(51)), reason: 'LimitExceeded', says: /50/ },
  {
    name: 'an aws: tag',
    files: appEntry('    tags:\n      "aws:cloudformation:stack-name": mine\n'),
    reason: 'InvalidConfig',
    says: /aws:/,
  },
  {
    name: 'a tag value over 256 characters',
    files: appEntry(`    tags:\n      long: ${'v'.repeat(257)}\n`),
    reason: 'LimitExceeded',
  },
  {
    name: 'a parameter value over 4,096 bytes',
    files: gitops(GITOPS.replace('Size: "2"', `Size: "${'9'.repeat(4097)}"`)),
    reason: 'LimitExceeded',
  },
  { name: 'more than 60 dynamic references', files: appTemplate(dynamicRefs(61)), reason: 'LimitExceeded', says: /60/ },
  // ---- dependencies
  { name: 'a dependsOn cycle', files: appEntry('    dependsOn: [web]\n'), reason: 'DependencyCycle' },
  { name: 'a stack that depends on itself', files: appEntry('    dependsOn: [app]\n'), reason: 'DependencyCycle' },
  {
    name: 'a dependsOn on an unknown stack',
    files: appEntry('    dependsOn: [database]\n'),
    reason: 'UnknownDependency',
    says: /database/,
  },
  {
    name: 'a parameter from an unknown stack output',
    files: gitops(GITOPS.replace('Size: "2"', 'Size: output:nowhere.Url')),
    reason: 'UnknownDependency',
  },
  {
    name: 'a stack declared twice',
    files: gitops(`${GITOPS}  - name: app\n    template: templates/web.yaml\n`),
    reason: 'DuplicateStack',
  },
  // ---- parameters and secrets
  {
    name: 'a parameter the template does not declare',
    files: gitops(GITOPS.replace('Size: "2"', 'Size: "2"\n      Colour: blue')),
    reason: 'InvalidParameter',
    says: /Colour/,
  },
  {
    name: 'an invalid ssm: parameter name',
    files: gitops(GITOPS.replace('Size: "2"', 'Size: "ssm:not a name"')),
    reason: 'InvalidParameter',
  },
  {
    name: 'a plaintext AWS access key',
    files: gitops(GITOPS.replace('Size: "2"', 'Size: AKIAIOSFODNN7EXAMPLE')),
    reason: 'PlaintextSecret',
    says: /Size/,
  },
  {
    name: 'a plaintext private key in a tag',
    files: appEntry('    tags:\n      key: "-----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA"\n'),
    reason: 'PlaintextSecret',
  },
  {
    name: 'a high-entropy value under a secret-like name',
    files: {
      ...gitops(GITOPS.replace('Size: "2"', 'Size: "2"\n      DbPassword: "q8Zr2LmX0vT9pKe4WnYb7HsJ"')),
      'templates/app.yaml': TEMPLATE.replace(
        'Resources:',
        '  DbPassword:\n    Type: String\n    NoEcho: true\nResources:',
      ),
    },
    reason: 'PlaintextSecret',
    says: /DbPassword/,
  },
  {
    name: 'a GitHub token as a parameter',
    files: gitops(GITOPS.replace('Size: "2"', `Size: ghp_${'a1B2c3D4e5'.repeat(4)}`)),
    reason: 'PlaintextSecret',
  },
];

describe('bad manifests and templates: Sync Failed with the reason, nothing applied', () => {
  it.each(cases)('$name → $reason', async (c) => {
    // Prepare: the good desired state is applied.
    const repo = smallRepo();
    await sync(repo.deps, {});
    expect((await repo.state.listStacks()).map((s) => s.lastApplied?.revision)).toEqual([repo.head(), repo.head()]);
    const before = appliedDigest(repo.stateDir);
    repo.clearEvents();

    // Act
    const sha = repo.commit({ ...BASE_FILES, ...c.files }, `Bad: ${c.name}`);
    const outcome = await sync(repo.deps, {}).catch((err: Error) => err);

    // Assess: the repository failed as a whole (thrown) or the stack failed (reported), with one reason.
    const failed = repo.events.events.filter((e) => e.detailType === 'Sync Failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((e) => e.detail.reason))).toEqual(new Set([c.reason]));
    if (c.says) expect(failed.map((e) => e.detail.message).join('\n')).toMatch(c.says);
    if (outcome instanceof Error) expect(outcome).toMatchObject({ reason: c.reason });
    else expect(outcome.failed.length).toBeGreaterThan(0);
    expect(repo.types().filter((t) => t !== 'Sync Failed')).toEqual([]);
    expect(appliedDigest(repo.stateDir)).toEqual(before);
    // A stack failure is recorded as an attempt on the bad commit, never as applied.
    for (const s of await repo.state.listStacks()) {
      expect(s.lastApplied?.revision).not.toBe(sha);
      if (s.lastAttempted?.revision === sha) expect(s.lastAttempted.result).toBe('Failed');
    }
  });
});
