import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.ts';
import { loadYaml, MAX_TEMPLATE_BYTES, parseTemplate } from '../../shared/render/cfn-template.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/templates');

/** Parses `Value: <short form>` inside a minimal template and returns the long form of the value. */
function longFormOf(shortForm: string): unknown {
  const template = parseTemplate(`Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Value: ${shortForm}\n`, 't.yaml');
  return (template.Resources!['R'] as Record<string, unknown>)['Value'];
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseTemplate: every short-form intrinsic becomes its long form', () => {
  const cases: [string, unknown][] = [
    ['!Ref Bucket', { Ref: 'Bucket' }],
    ["!Ref 'AWS::Region'", { Ref: 'AWS::Region' }],
    ['!Sub "${AWS::StackName}-bucket"', { 'Fn::Sub': '${AWS::StackName}-bucket' }],
    ['!Sub ["${A}-x", { A: !Ref B }]', { 'Fn::Sub': ['${A}-x', { A: { Ref: 'B' } }] }],
    ['!GetAtt Role.Arn', { 'Fn::GetAtt': ['Role', 'Arn'] }],
    ['!GetAtt Db.Endpoint.Address', { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] }],
    ['!GetAtt [Role, Arn]', { 'Fn::GetAtt': ['Role', 'Arn'] }],
    ['!GetAtt [Db, !Ref AttrName]', { 'Fn::GetAtt': ['Db', { Ref: 'AttrName' }] }],
    ["!Join [':', [a, !Ref B]]", { 'Fn::Join': [':', ['a', { Ref: 'B' }]] }],
    ["!Select [1, !GetAZs '']", { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] }],
    ["!Split [',', 'a,b']", { 'Fn::Split': [',', 'a,b'] }],
    ['!If [IsProd, 3, 1]', { 'Fn::If': ['IsProd', 3, 1] }],
    ['!Equals [!Ref Env, prod]', { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }],
    ['!And [!Condition A, !Condition B]', { 'Fn::And': [{ Condition: 'A' }, { Condition: 'B' }] }],
    ['!Or [!Condition A, !Equals [x, y]]', { 'Fn::Or': [{ Condition: 'A' }, { 'Fn::Equals': ['x', 'y'] }] }],
    ['!Not [!Condition A]', { 'Fn::Not': [{ Condition: 'A' }] }],
    ['!FindInMap [Map, !Ref AWS::Region, Ami]', { 'Fn::FindInMap': ['Map', { Ref: 'AWS::Region' }, 'Ami'] }],
    ['!Base64 { "Fn::Sub": "echo ${X}" }', { 'Fn::Base64': { 'Fn::Sub': 'echo ${X}' } }],
    ['!Base64 plain', { 'Fn::Base64': 'plain' }],
    ['!Cidr [10.0.0.0/16, 6, 5]', { 'Fn::Cidr': ['10.0.0.0/16', 6, 5] }],
    ["!GetAZs ''", { 'Fn::GetAZs': '' }],
    ['!GetAZs', { 'Fn::GetAZs': '' }],
    ['!GetAZs eu-west-1', { 'Fn::GetAZs': 'eu-west-1' }],
    ['!GetAZs { Ref: "AWS::Region" }', { 'Fn::GetAZs': { Ref: 'AWS::Region' } }],
    ['!ImportValue network-VpcId', { 'Fn::ImportValue': 'network-VpcId' }],
    ['!ImportValue { "Fn::Sub": "${Net}-VpcId" }', { 'Fn::ImportValue': { 'Fn::Sub': '${Net}-VpcId' } }],
    ['!Condition IsProd', { Condition: 'IsProd' }],
    [
      '!Transform { Name: AWS::Include, Parameters: { Location: s3://b/k } }',
      { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } } },
    ],
    ['!ToJsonString { a: [1, !Ref B] }', { 'Fn::ToJsonString': { a: [1, { Ref: 'B' }] } }],
    ['!Length [a, b]', { 'Fn::Length': ['a', 'b'] }],
    ['!Ref 80', { Ref: '80' }],
  ];
  it.each(cases)('%s', (shortForm, expected) => {
    // Act
    const value = longFormOf(shortForm);
    // Assess
    expect(value).toEqual(expected);
  });

  it('reads YAML 1.1 booleans as CloudFormation does and keeps dates as text', () => {
    // Prepare
    const text =
      'AWSTemplateFormatVersion: 2010-09-09\nResources:\n  R:\n    Type: T\n    A: yes\n    B: off\n    C: y\n';
    // Act
    const t = parseTemplate(text, 't.yaml');
    // Assess
    expect(t.AWSTemplateFormatVersion).toBe('2010-09-09');
    expect(t.Resources?.['R']).toEqual({ Type: 'T', A: true, B: false, C: 'y' });
  });
});

describe('parseTemplate: YAML 1.1 numbers as CloudFormation reads them', () => {
  it.each([
    ['E3014', 'E3014'], // a cfn-lint rule id, once read as a float (NaN)
    ['e5', 'e5'],
    ['1e5', '1e5'], // YAML 1.1: a float has a dot
    ['1.5e3', '1.5e3'], // and an exponent has its sign
    ['1.5e+3', 1500],
    ['0123456789', '0123456789'], // a leading zero is no decimal integer (account ids stay text)
    ['0755', 493], // octal, as YAML 1.1 and CloudFormation read it
    ['1_000', 1000],
    ['10', 10],
    ['0', 0],
    ['-7', -7],
    ['2.50', 2.5],
    ['.5', 0.5],
    ['.', '.'],
    ['0x1F', 31],
    ['1.0.0', '1.0.0'],
  ])('%s → %j', (written, expected) => {
    const t = parseTemplate(`Resources:\n  R:\n    Type: T\n    Properties:\n      V: ${written}\n`, 't.yaml');
    expect((t.Resources?.['R']?.Properties as { V: unknown } | undefined)?.V).toEqual(expected);
  });

  it('keeps cfn-lint metadata codes as written', () => {
    const t = parseTemplate(
      'Resources:\n  R:\n    Type: T\n    Metadata: {cfn-lint: {config: {ignore_checks: [E3014, W2001, E1029]}}}\n',
      't.yaml',
    );
    expect(JSON.stringify(t.Resources?.['R']?.['Metadata'])).toBe(
      '{"cfn-lint":{"config":{"ignore_checks":["E3014","W2001","E1029"]}}}',
    );
  });

  it('writes an empty !GetAZs and a null Fn::GetAZs the same way', () => {
    const short = parseTemplate('Resources:\n  R:\n    Type: T\n    Properties: { Z: !GetAZs }\n', 't.yaml');
    const long = parseTemplate(
      '{"Resources": {"R": {"Type": "T", "Properties": {"Z": {"Fn::GetAZs": null}}}}}',
      't.json',
    );
    expect(short).toEqual(long);
    expect(long.Resources?.['R']?.Properties).toEqual({ Z: { 'Fn::GetAZs': '' } });
  });
});

describe('parseTemplate: realistic templates equal their long-form JSON', () => {
  it.each(['lambda-api', 'vpc', 'iam', 'sub-map', 'conditions', 'sam'])('%s', (name) => {
    // Prepare
    const yaml = readFileSync(join(FIXTURES, `${name}.yaml`), 'utf8');
    const json = readFileSync(join(FIXTURES, `${name}.json`), 'utf8');
    // Act
    const fromYaml = parseTemplate(yaml, `${name}.yaml`);
    const fromJson = parseTemplate(json, `${name}.json`);
    // Assess
    expect(fromYaml).toEqual(JSON.parse(json));
    expect(fromJson).toEqual(JSON.parse(json));
  });
});

describe('parseTemplate: errors name the file and line', () => {
  it('refuses an unknown tag', () => {
    const err = thrown(() =>
      parseTemplate('Resources:\n  R:\n    Type: T\n    Properties:\n      X: !GetAttr A.B\n', 'tpl/app.yaml'),
    );
    expect(err.reason).toBe('InvalidTemplate');
    expect(err.file).toBe('tpl/app.yaml');
    expect(err.line).toBe(5);
    expect(err.message).toContain('tpl/app.yaml:5');
    expect(err.message).toContain('!GetAttr');
  });

  it('refuses two short forms on one node, as CloudFormation does', () => {
    // `!Base64 !Sub x` is not YAML: one of the two must be written in long form.
    const err = thrown(() => parseTemplate('Resources:\n  R:\n    Type: T\n    U: !Base64 !Sub x\n', 'u.yaml'));
    expect(err.reason).toBe('InvalidTemplate');
    expect(err.line).toBe(4);
  });

  it('refuses a YAML syntax error', () => {
    const err = thrown(() => parseTemplate('Resources:\n  R:\n    Type: [a, b\n  S: 1\n', 'bad.yaml'));
    expect(err.reason).toBe('InvalidTemplate');
    expect(err.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(/^bad\.yaml:\d+: /);
  });

  it('refuses duplicate keys, in YAML and in JSON', () => {
    const yamlErr = thrown(() => parseTemplate('Resources:\n  R:\n    Type: A\n  R:\n    Type: B\n', 'd.yaml'));
    const jsonErr = thrown(() => parseTemplate('{\n  "Resources": {},\n  "Resources": {}\n}\n', 'd.json'));
    expect(yamlErr.reason).toBe('InvalidTemplate');
    expect(yamlErr.line).toBe(4);
    expect(jsonErr.line).toBe(3);
  });

  it('stops an alias bomb', () => {
    // Prepare: nine levels of nine aliases each would expand to 9^9 nodes.
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    lines.push('Resources:', '  R: { Type: T, Properties: { Bomb: *a9 } }');
    // Act
    // (Expanded, 9^9 nodes would exhaust memory long before the test's timeout: refusing at all is the proof.)
    const err = thrown(() => parseTemplate(lines.join('\n'), 'bomb.yaml'));
    // Assess
    expect(err.reason).toBe('InvalidTemplate');
    expect(err.message).toContain('alias');
    expect(err.line).toBeGreaterThan(0);
  });

  it('expands a small alias', () => {
    const t = parseTemplate('Common: &c { A: 1 }\nResources:\n  R: { Type: T, Properties: *c }\n', 'a.yaml');
    expect(t.Resources?.['R']).toEqual({ Type: 'T', Properties: { A: 1 } });
  });

  it('needs a mapping with Resources', () => {
    expect(thrown(() => parseTemplate('- a\n- b\n', 'l.yaml')).reason).toBe('InvalidTemplate');
    const err = thrown(() => parseTemplate('Description: x\nResources: []\n', 'r.yaml'));
    expect(err.reason).toBe('InvalidTemplate');
    expect(err.line).toBe(2);
  });

  it('refuses a template over 1 MB', () => {
    const big = `Resources:\n  R:\n    Type: T\n    Description: "${'x'.repeat(MAX_TEMPLATE_BYTES)}"\n`;
    const err = thrown(() => parseTemplate(big, 'big.yaml'));
    expect(err.reason).toBe('LimitExceeded');
    expect(err.file).toBe('big.yaml');
  });
});

describe('loadYaml', () => {
  it('gives the value and lines of a manifest', () => {
    const { value, source } = loadYaml('a: 1\nlist:\n  - x\n  - y\n', 'm.yaml');
    expect(value).toEqual({ a: 1, list: ['x', 'y'] });
    expect(source.lineOf(['list', 1])).toBe(4);
  });

  it('refuses CloudFormation tags and syntax errors with file and line', () => {
    const tag = thrown(() => loadYaml('a: 1\nb: !Ref X\n', 'gitops.yaml'));
    expect(tag.reason).toBe('InvalidConfig');
    expect(tag.line).toBe(2);
    const dup = thrown(() => loadYaml('a: 1\na: 2\n', 'gitops.yaml'));
    expect(dup.line).toBe(2);
  });

  it('refuses an alias bomb', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i <= 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const err = thrown(() => loadYaml(lines.join('\n'), 'gitops.yaml'));
    expect(err.reason).toBe('InvalidConfig');
    expect(err.line).toBe(2);
  });
});
