/**
 * Errors as `gitops` prints them: file, line and field named once each, and a suggestion for a misspelled field.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTemplate } from '../../shared/render/cfn-template.ts';
import { checkResourceSpec } from '../../shared/render/resource-spec.ts';
import { commitFiles, createWorkRepo, makeGitEnv } from '../helpers/git-repo.ts';
import { gitops } from './run-gitops.ts';

const TEMPLATE = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: { Type: String, AllowedValues: [dev, prod] }
  Size: { Type: String }
  DbPassword: { Type: String, NoEcho: true }
Resources:
  Queue: { Type: AWS::SQS::Queue }
`;

const genv = makeGitEnv();
let repo: string;

describe('gitops error messages', () => {
  beforeAll(() => {
    repo = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-cli-errors-')));
    commitFiles(
      genv,
      repo,
      {
        'templates/app.yaml': TEMPLATE,
        'deploy/allowed.yaml':
          'template-file-path: templates/app.yaml\nparameters:\n  Env: staging\n  Size: s\n  DbPassword: ssm:/db\n',
        'deploy/missing.yaml':
          'template-file-path: templates/app.yaml\nparameters:\n  Env: dev\n  DbPassword: ssm:/db\n',
        'deploy/typo.yaml': 'template-file-path: templates/app.yaml\nparameter:\n  Env: dev\n',
        'deploy/secret.yaml':
          'template-file-path: templates/app.yaml\nparameters:\n  Env: dev\n  Size: s\n  DbPassword: ghp_0123456789abcdefghijABCDEFGHIJ012345\n',
      },
      'Deployment files, each with one mistake',
    );
  });

  it.each([
    [
      'deploy/allowed.yaml',
      'error: default/allowed: deploy/allowed.yaml:3: parameters.Env: "staging" is not one of AllowedValues [dev, prod]',
    ],
    [
      'deploy/missing.yaml',
      'error: default/missing: templates/app.yaml:4: Parameters.Size: required parameter "Size" (no Default) has no value',
    ],
    [
      'deploy/typo.yaml',
      'error: deploy/typo.yaml:2: parameter: unknown field "parameter" (did you mean "parameters"?)',
    ],
    [
      'templates/app.yaml',
      'error: templates/app.yaml:1: template-file-path: this is a CloudFormation template, not a deployment file',
    ],
  ])('names file, line and field once for --deployment-file %s', async (file, message) => {
    const run = await gitops(['render', repo, '--deployment-file', file]);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toContain(message);
    expect(run.stderr).not.toContain('Invalid input');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('names the file of a plaintext secret once, with its line, and never shows the value', async () => {
    const run = await gitops(['render', repo, '--deployment-file', 'deploy/secret.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: default\/secret: deploy\/secret\.yaml:5: parameters\.DbPassword: parameter "DbPassword" looks like a plaintext secret/,
    );
    expect(run.stderr.match(/deploy\/secret\.yaml/g)).toHaveLength(1);
    expect(run.stderr).not.toContain('ghp_0123456789');
  });

  it('refuses what the resource specification refuses, as its whole database says, from the index built into dist/', async () => {
    const template =
      'Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeOut: 3\n' +
      '  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      MemorySize: lots\n      Code: { ZipFile: x }\n' +
      '      Role: r\n      VpcConfig: { SubnetIds: 3 }\n  Sub:\n    Type: AWS::SNS::Subscription\n' +
      '    Properties: { Protocol: sqs }\n  Odd:\n    Type: AWS::Nope::Thing\n';
    commitFiles(
      genv,
      repo,
      { 'templates/spec.yaml': template, 'deploy/spec.yaml': 'template-file-path: templates/spec.yaml\n' },
      'A template CloudFormation would refuse',
    );
    const run = await gitops(['render', repo, '--deployment-file', 'deploy/spec.yaml']);
    expect(run.code).toBe(2);
    // The test runs from source, where the check loads @aws-cdk/aws-service-spec's database itself.
    const { problems } = await checkResourceSpec(parseTemplate(template, 'templates/spec.yaml'));
    expect(problems.map((p) => p.message)).toEqual([
      'AWS::SQS::Queue has no property VisibilityTimeOut (did you mean VisibilityTimeout?)',
      'AWS::Lambda::Function.MemorySize must be an integer, got "lots"',
      'AWS::Lambda::Function.VpcConfig.SubnetIds must be a list, got 3',
      'AWS::SNS::Subscription requires TopicArn',
      'unknown resource type AWS::Nope::Thing',
    ]);
    const lines = [
      '5: Resources.Queue',
      '9: Resources.Fn',
      '12: Resources.Fn',
      '15: Resources.Sub',
      '17: Resources.Odd',
    ];
    for (const [i, p] of problems.entries()) {
      expect(run.stderr).toContain(`templates/spec.yaml:${lines[i]}: ${p.message}`);
    }
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
