import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferCapabilities } from '../../shared/render/capabilities.ts';
import { parseTemplate } from '../../shared/render/cfn-template.ts';

const fixture = (name: string) =>
  parseTemplate(readFileSync(join(import.meta.dirname, '../fixtures/templates', name), 'utf8'), name);
const resources = (body: string) => parseTemplate(`Resources:\n${body}`, 't.yaml');

describe('inferCapabilities', () => {
  it.each([
    ['no IAM resource', 'vpc.yaml', []],
    ['an unnamed IAM role', 'lambda-api.yaml', ['CAPABILITY_IAM']],
    ['a named IAM role', 'iam.yaml', ['CAPABILITY_NAMED_IAM']],
    ['a SAM transform (which creates roles)', 'sam.yaml', ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND']],
  ])('%s', (_what, file, expected) => {
    expect(inferCapabilities(fixture(file))).toEqual(expected);
  });

  it.each([
    ['AWS::IAM::User', 'UserName'],
    ['AWS::IAM::Group', 'GroupName'],
    ['AWS::IAM::ManagedPolicy', 'ManagedPolicyName'],
    ['AWS::IAM::InstanceProfile', 'InstanceProfileName'],
  ])('a %s with %s needs CAPABILITY_NAMED_IAM', (type, property) => {
    expect(inferCapabilities(resources(`  R: { Type: ${type}, Properties: { ${property}: x } }\n`))).toEqual([
      'CAPABILITY_NAMED_IAM',
    ]);
  });

  it('a policy name alone does not name an IAM resource', () => {
    const t = resources('  P: { Type: AWS::IAM::Policy, Properties: { PolicyName: p, PolicyDocument: {} } }\n');
    expect(inferCapabilities(t)).toEqual(['CAPABILITY_IAM']);
  });

  it('Fn::Transform anywhere and nested stacks need CAPABILITY_AUTO_EXPAND', () => {
    const include = resources('  R: { Type: AWS::SNS::Topic, Properties: !Transform { Name: AWS::Include } }\n');
    const nested = resources('  N: { Type: AWS::CloudFormation::Stack, Properties: { TemplateURL: https://x } }\n');
    expect(inferCapabilities(include)).toEqual(['CAPABILITY_AUTO_EXPAND']);
    expect(inferCapabilities(nested)).toEqual(['CAPABILITY_AUTO_EXPAND']);
  });
});
