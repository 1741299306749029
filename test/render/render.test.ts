import { describe, expect, it } from 'vitest';
import { loadRepoConfig } from '../../shared/config/load.ts';
import { ConfigError, type GitOpsError } from '../../shared/errors.ts';
import type { RenderedStack } from '../../shared/model.ts';
import { canonicalJson, sha256Hex } from '../../shared/render/hash.ts';
import { type RenderOptions, renderStacks } from '../../shared/render/render.ts';
import { gitBlobOid, type MemoryFile, memorySnapshot } from '../config/memory-snapshot.ts';

const NETWORK = `Parameters:
  Cidr: { Type: String, Default: 10.0.0.0/16, AllowedPattern: '(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}' }
Resources:
  Vpc: { Type: AWS::EC2::VPC, Properties: { CidrBlock: !Ref Cidr } }
Outputs:
  VpcId: { Value: !Ref Vpc }
`;

const APP = `Parameters:
  Env: { Type: String, AllowedValues: [dev, prod] }
  Memory: { Type: Number, Default: 256, MinValue: 128, MaxValue: 4096 }
  LogLevel: { Type: String, Default: info }
  VpcId: { Type: String }
  DbPassword: { Type: String, NoEcho: true }
  Subnets: { Type: CommaDelimitedList, Default: "" }
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub app-\${Env}
      AssumeRolePolicyDocument: { Statement: [] }
  Fn:
    Type: AWS::Lambda::Function
    Properties: { MemorySize: !Ref Memory, Role: !GetAtt Role.Arn }
`;

const GITOPS = `defaults:
  region: eu-west-1
  tags: { owner: platform, env: unset }
environments:
  - name: dev
    role: arn:aws:iam::111111111111:role/deployer
    parameters: { Env: dev, LogLevel: debug }
    tags: { env: dev }
  - name: prod
    region: us-east-1
    role: arn:aws:iam::222222222222:role/deployer
    parameters: { Env: prod }
    tags: { env: prod }
stacks:
  - deploymentFile: deploy/network.yaml
  - name: app
    template: templates/app.yaml
    dependsOn: [network]
    parameters:
      Memory: 512
      LogLevel: warn
      VpcId: output:network.VpcId
      DbPassword: ssm:/app/db-password
    tags: { team: app, owner: app-team }
    overrides:
      prod:
        stackName: app-production
        parameters: { Memory: 2048 }
        tags: { team: app-prod }
`;

const FILES: Record<string, MemoryFile> = {
  'gitops.yaml': GITOPS,
  'deploy/network.yaml': 'template-file-path: templates/network.yaml\nparameters:\n  Cidr: 10.1.0.0/16\n',
  'templates/network.yaml': NETWORK,
  'templates/app.yaml': APP,
  'README.md': '# infra\n',
};

async function render(files: Record<string, MemoryFile>, options: RenderOptions = {}, branch = 'main') {
  const snapshot = memorySnapshot(files, { branch });
  const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-central-1' });
  return renderStacks(snapshot, config, options);
}

function byKey(rendered: readonly RenderedStack[], key: string): RenderedStack {
  const found = rendered.find((r) => r.key === key);
  if (!found) throw new Error(`no rendered stack ${key}; have ${rendered.map((r) => r.key).join(', ')}`);
  return found;
}

/** Renders the app stack in dev with `parameters` replaced, and returns its error. */
async function appError(parameters: string, template = APP): Promise<GitOpsError> {
  const gitops = GITOPS.replace(
    / {4}parameters:\n {6}Memory: 512\n[\s\S]*?ssm:\/app\/db-password\n/,
    `    parameters:\n${parameters}`,
  );
  const outcome = await render(
    { ...FILES, 'gitops.yaml': gitops, 'templates/app.yaml': template },
    { environments: ['dev'], stacks: ['app'] },
  );
  expect(outcome.rendered).toEqual([]);
  expect(outcome.errors).toHaveLength(1);
  return outcome.errors[0]!.error;
}

describe('renderStacks', () => {
  it('renders every stack in every environment with merged parameters and tags', async () => {
    // Act
    const outcome = await render(FILES);
    // Assess
    expect(outcome.errors).toEqual([]);
    expect(outcome.rendered.map((r) => r.key).sort()).toEqual(['dev/app', 'dev/network', 'prod/app', 'prod/network']);
    const devApp = byKey(outcome.rendered, 'dev/app');
    expect(devApp).toMatchObject({
      stack: 'app',
      environment: 'dev',
      stackName: 'app-dev',
      region: 'eu-west-1',
      role: 'arn:aws:iam::111111111111:role/deployer',
      // stack < environment < override: the environment's LogLevel wins over the stack's.
      parameters: { Env: 'dev', Memory: '512', LogLevel: 'debug', DbPassword: '/app/db-password' },
      outputParameters: { VpcId: 'network.VpcId' },
      // defaults < environment < stack < override
      tags: { owner: 'app-team', env: 'dev', team: 'app' },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      dependsOn: ['dev/network'],
      revision: 'a'.repeat(40),
      branch: 'main',
      repo: 'https://git.example.com/acme/infra.git',
      syncPolicy: { automated: true, prune: false, selfHeal: false },
    });
    expect(devApp.template.Parameters?.['DbPassword']).toEqual({
      Type: 'AWS::SSM::Parameter::Value<String>',
      NoEcho: true,
    });
    expect(devApp.inputs).toEqual({
      'gitops.yaml': gitBlobOid(GITOPS),
      'templates/app.yaml': gitBlobOid(APP),
    });
    const prodApp = byKey(outcome.rendered, 'prod/app');
    expect(prodApp).toMatchObject({
      stackName: 'app-production',
      region: 'us-east-1',
      parameters: { Env: 'prod', Memory: '2048', LogLevel: 'warn' },
      tags: { owner: 'app-team', env: 'prod', team: 'app-prod' },
    });
    const devNetwork = byKey(outcome.rendered, 'dev/network');
    expect(devNetwork).toMatchObject({
      stackName: 'network-dev',
      parameters: { Cidr: '10.1.0.0/16' },
      capabilities: [],
    });
    // The environment's Env/LogLevel values reach only templates that declare them.
    expect(devNetwork.parameters).not.toHaveProperty('Env');
    expect(devNetwork.inputs).toEqual({
      'gitops.yaml': gitBlobOid(GITOPS),
      'deploy/network.yaml': gitBlobOid(FILES['deploy/network.yaml'] as string),
      'templates/network.yaml': gitBlobOid(NETWORK),
    });
    expect(devNetwork.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('renders a zero-configuration repository in the default region under the file name', async () => {
    const outcome = await render({
      'stacks/web-site.yaml': 'template-file-path: cfn/site.yaml\n',
      'cfn/site.yaml': 'Resources:\n  B: { Type: AWS::S3::Bucket }\n',
    });
    expect(outcome.rendered.map((r) => [r.key, r.stackName, r.region])).toEqual([
      ['default/web-site', 'web-site', 'eu-central-1'],
    ]);
  });

  it('renders only the selected environments and stacks, and refuses unknown ones listing the valid names', async () => {
    const outcome = await render(FILES, { environments: ['prod'], stacks: ['network'] });
    expect(outcome.rendered.map((r) => r.key)).toEqual(['prod/network']);
    await expect(render(FILES, { environments: ['prd'] })).rejects.toMatchObject({
      reason: 'InvalidConfig',
      message: expect.stringContaining('unknown environment "prd"; valid: dev, prod'),
    });
    await expect(render(FILES, { stacks: ['ap'] })).rejects.toThrow(ConfigError);
  });

  it('skips environments that follow another branch', async () => {
    const gitops = GITOPS.replace('    region: us-east-1\n', '    region: us-east-1\n    branch: release\n');
    const onMain = await render({ ...FILES, 'gitops.yaml': gitops });
    const onRelease = await render({ ...FILES, 'gitops.yaml': gitops }, {}, 'release');
    expect(onMain.rendered.map((r) => r.environment)).not.toContain('prod');
    expect(onRelease.rendered.map((r) => r.environment)).toContain('prod');
  });

  it('keeps rendering the other stacks when one fails', async () => {
    // Prepare: the app template is gone.
    const { 'templates/app.yaml': _gone, ...files } = FILES;
    // Act
    const outcome = await render(files);
    // Assess
    expect(outcome.rendered.map((r) => r.key).sort()).toEqual(['dev/network', 'prod/network']);
    expect(outcome.errors.map((e) => [e.key, e.error.reason])).toEqual([
      ['dev/app', 'MissingFile'],
      ['prod/app', 'MissingFile'],
    ]);
    expect(outcome.errors[0]!.error.message).toContain(
      'gitops.yaml: template: file "templates/app.yaml" does not exist',
    );
  });

  it('follows a template symlink inside the repository and refuses one that leaves it', async () => {
    const inside = await render(
      { ...FILES, 'deploy/network.yaml': 'template-file-path: link/network.yaml\n', link: { link: 'templates' } },
      { stacks: ['network'], environments: ['dev'] },
    );
    expect(inside.errors).toEqual([]);
    expect(inside.rendered[0]!.inputs).toMatchObject({
      link: gitBlobOid('templates'),
      'templates/network.yaml': gitBlobOid(NETWORK),
    });
    const outside = await render(
      { ...FILES, 'templates/network.yaml': { link: '../../etc/network.yaml' } },
      { stacks: ['network'], environments: ['dev'] },
    );
    expect(outside.errors[0]!.error.reason).toBe('PathEscape');
    expect(outside.errors[0]!.error.message).toContain('deploy/network.yaml: template-file-path: symbolic link');
  });

  it('refuses an invalid CloudFormation stack name', async () => {
    const gitops = GITOPS.replace('stackName: app-production', 'stackName: "1app_{env}"');
    const outcome = await render({ ...FILES, 'gitops.yaml': gitops }, { environments: ['prod'], stacks: ['app'] });
    expect(outcome.errors[0]!.error).toMatchObject({ reason: 'InvalidConfig', field: 'stackName' });
    expect(outcome.errors[0]!.error.message).toContain('"1app_prod" is not a valid CloudFormation stack name');
  });
});

describe('parameters', () => {
  const base = '      VpcId: output:network.VpcId\n      DbPassword: ssm:/app/db-password\n';
  const cases: [string, string, string, string][] = [
    [
      'a parameter the template does not have',
      `${base}      Memroy: 512\n`,
      'InvalidParameter',
      'no parameter "Memroy"',
    ],
    [
      'a required parameter without value',
      '      VpcId: output:network.VpcId\n',
      'InvalidParameter',
      'required parameter "DbPassword"',
    ],
    ['a number below MinValue', `${base}      Memory: 64\n`, 'InvalidParameter', 'less than MinValue 128'],
    ['a number above MaxValue', `${base}      Memory: 8192\n`, 'InvalidParameter', 'more than MaxValue 4096'],
    ['text for a Number', `${base}      Memory: lots\n`, 'InvalidParameter', 'is not a number'],
    [
      'an ssm-secure value',
      `      VpcId: output:network.VpcId\n      DbPassword: ssm-secure:/app/pw\n`,
      'InvalidParameter',
      '{{resolve:ssm-secure:',
    ],
    [
      'a secretsmanager value',
      `      VpcId: output:network.VpcId\n      DbPassword: secretsmanager:db\n`,
      'InvalidParameter',
      'dynamic reference',
    ],
    [
      'an output of a stack that is not a dependency',
      `${base}      Subnets: output:other.Level\n`,
      'UnknownDependency',
      'dependsOn',
    ],
    ['a value over 4,096 bytes', `${base}      Subnets: ${'x'.repeat(4097)}\n`, 'LimitExceeded', '4096 bytes'],
  ];
  it.each(cases)('refuses %s', async (_what, parameters, reason, text) => {
    // Act
    const err = await appError(parameters);
    // Assess
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(text);
    // File, line and field, each once: the line of the value (or of the template's parameter) it is about.
    expect(err.message).toMatch(/^(gitops\.yaml|templates\/app\.yaml):\d+: [A-Za-z]+\.\w+: /);
    expect(err.line).toBeGreaterThan(0);
    expect(err.describe()).toBe(err.message);
  });

  it('checks AllowedValues, AllowedPattern and lengths as CloudFormation does', async () => {
    const template = APP.replace(
      'Resources:',
      '  Mode: { Type: String, Default: fast, AllowedValues: [fast, safe] }\n  Label: { Type: String, Default: x, AllowedPattern: "[a-z]+", MaxLength: 5 }\nResources:',
    );
    expect((await appError(`${base}      Mode: slow\n`, template)).message).toContain(
      '"slow" is not one of AllowedValues [fast, safe]',
    );
    expect((await appError(`${base}      Label: WARN\n`, template)).message).toContain('AllowedPattern');
    expect((await appError(`${base}      Label: verbose\n`, template)).message).toContain('MaxLength 5');
  });

  it('rewrites a CommaDelimitedList read from SSM to a list-typed SSM parameter', async () => {
    const gitops = GITOPS.replace(
      '      DbPassword: ssm:/app/db-password\n',
      '      DbPassword: ssm:/app/db-password\n      Subnets: ssm:/network/subnets\n',
    );
    const outcome = await render({ ...FILES, 'gitops.yaml': gitops }, { environments: ['dev'], stacks: ['app'] });
    const app = outcome.rendered[0]!;
    expect(app.parameters['Subnets']).toBe('/network/subnets');
    expect(app.template.Parameters?.['Subnets']?.Type).toBe('AWS::SSM::Parameter::Value<List<String>>');
  });

  it('refuses more than 60 dynamic references', async () => {
    const refs = Array.from(
      { length: 61 },
      (_, i) =>
        `  P${i}: { Type: AWS::SSM::Parameter, Properties: { Value: "{{resolve:ssm:/p/${i}}}", Type: String } }`,
    );
    const outcome = await render(
      {
        ...FILES,
        'templates/network.yaml': `Resources:\n${refs.join('\n')}\n`,
        'deploy/network.yaml': 'template-file-path: templates/network.yaml\n',
      },
      { environments: ['dev'], stacks: ['network'] },
    );
    expect(outcome.errors[0]!.error.reason).toBe('LimitExceeded');
  });
});

describe('tags', () => {
  it('refuses the aws: prefix and more than 50 tags', async () => {
    const reserved = await render(
      { ...FILES, 'gitops.yaml': GITOPS.replace('team: app,', '"aws:team": app,') },
      { stacks: ['app'] },
    );
    expect(reserved.errors[0]!.error).toMatchObject({ reason: 'InvalidConfig', file: 'gitops.yaml' });
    const many = Array.from({ length: 50 }, (_, i) => `t${i}: v`).join(', ');
    const tooMany = await render(
      { ...FILES, 'gitops.yaml': GITOPS.replace('team: app,', `${many}, team: app,`) },
      { stacks: ['app'] },
    );
    expect(tooMany.errors[0]!.error.reason).toBe('LimitExceeded');
  });
});

describe('plaintext secrets', () => {
  const secrets: [string, string, string][] = [
    ['an AWS access key id', 'ApiUser', 'AKIAIOSFODNN7EXAMPLE'],
    ['a private key', 'Cert', '"-----BEGIN RSA PRIVATE KEY-----\\nMIIEow"'],
    ['a GitHub token', 'Deploy', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['a high-entropy value under a secret-like name', 'ApiSecret', 'q8X!vR2#pLm9$wZt4&kN7'],
  ];
  it.each(secrets)('refuses %s without ever showing it', async (_what, name, value) => {
    // Prepare
    const shown = value.startsWith('"') ? JSON.parse(value) : value;
    const gitops = GITOPS.replace('      LogLevel: warn\n', `      LogLevel: warn\n      ${name}: ${value}\n`);
    // Act
    const outcome = await render({ ...FILES, 'gitops.yaml': gitops }, { stacks: ['app'], environments: ['dev'] });
    // Assess
    const err = outcome.errors[0]!.error;
    expect(err.reason).toBe('PlaintextSecret');
    expect(err.message).toContain(`gitops.yaml: parameter "${name}"`);
    expect(err.message).toContain('ssm:');
    expect(err.message).not.toContain(shown);
    expect(err.describe()).not.toContain(shown);
    expect(JSON.stringify(outcome)).not.toContain(shown);
  });

  it('accepts ordinary values under secret-like names', async () => {
    const gitops = GITOPS.replace('      LogLevel: warn\n', '      LogLevel: warn\n      TokenTtl: "3600"\n');
    const template = APP.replace('Resources:', '  TokenTtl: { Type: String }\nResources:');
    const outcome = await render(
      { ...FILES, 'gitops.yaml': gitops, 'templates/app.yaml': template },
      { stacks: ['app'] },
    );
    expect(outcome.errors).toEqual([]);
  });
});

describe('plaintext secrets in templates, and what is not a secret', () => {
  const GHP = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
  const AKIA = 'AKIAIOSFODNN7EXAMPLE';

  it.each([
    [
      'a parameter Default',
      APP.replace('LogLevel: { Type: String, Default: info }', `LogLevel: { Type: String, Default: ${GHP} }`),
      'Parameters.LogLevel.Default',
      GHP,
    ],
    [
      'a resource property',
      APP.replace('MemorySize: !Ref Memory,', `MemorySize: !Ref Memory, Environment: { Variables: { KEY: ${AKIA} } },`),
      'Resources.Fn.Properties.Environment.Variables.KEY',
      AKIA,
    ],
  ])('refuses a token in %s, naming its path and never the value', async (_what, template, path, value) => {
    // Act
    const outcome = await render(
      { ...FILES, 'templates/app.yaml': template },
      { stacks: ['app'], environments: ['dev'] },
    );
    // Assess
    const err = outcome.errors[0]!.error;
    expect(err).toMatchObject({ reason: 'PlaintextSecret', file: 'templates/app.yaml', field: path });
    expect(err.message).toContain(path);
    expect(err.message).toContain('notSecrets');
    expect(JSON.stringify(outcome)).not.toContain(value);
  });

  it('accepts subnet ids under an AWS-typed parameter named Private…, and a URL under a token-like tag', async () => {
    // Prepare: both were refused as high-entropy values under secret-like names
    const template = APP.replace('Resources:', '  PrivateSubnets: { Type: List<AWS::EC2::Subnet::Id> }\nResources:');
    const gitops = GITOPS.replace(
      '      LogLevel: warn\n',
      '      LogLevel: warn\n      PrivateSubnets: subnet-0123456789abcdef0,subnet-0fedcba9876543210\n',
    ).replace('team: app,', 'token-endpoint: "https://login.example.com/oauth2/token", team: app,');
    // Act
    const outcome = await render(
      { ...FILES, 'gitops.yaml': gitops, 'templates/app.yaml': template },
      { stacks: ['app'] },
    );
    // Assess
    expect(outcome.errors).toEqual([]);
    expect(outcome.rendered[0]!.parameters['PrivateSubnets']).toBe('subnet-0123456789abcdef0,subnet-0fedcba9876543210');
  });

  it('lets notSecrets allow one deliberate value by path, and only that one', async () => {
    // Prepare
    const template = APP.replace(
      'LogLevel: { Type: String, Default: info }',
      `LogLevel: { Type: String, Default: ${GHP} }`,
    );
    const allowed = GITOPS.replace(
      '    template: templates/app.yaml\n',
      '    template: templates/app.yaml\n    notSecrets: [Parameters.LogLevel.Default]\n',
    );
    const otherPath = GITOPS.replace(
      '    template: templates/app.yaml\n',
      '    template: templates/app.yaml\n    notSecrets: [parameters.LogLevel]\n',
    );
    // Act
    const ok = await render({ ...FILES, 'gitops.yaml': allowed, 'templates/app.yaml': template }, { stacks: ['app'] });
    const refused = await render(
      { ...FILES, 'gitops.yaml': otherPath, 'templates/app.yaml': template },
      { stacks: ['app'] },
    );
    // Assess
    expect(ok.errors).toEqual([]);
    expect(refused.errors[0]!.error.reason).toBe('PlaintextSecret');
  });
});

describe('patterns from the repository', () => {
  it('checks an adversarial AllowedPattern in linear time and still refuses the value', async () => {
    // Prepare: (a+)+b against forty "a" and "!" backtracks for minutes in JavaScript's RegExp
    const template = APP.replace('Resources:', "  Code: { Type: String, AllowedPattern: '(a+)+b' }\nResources:");
    const gitops = GITOPS.replace('      LogLevel: warn\n', `      LogLevel: warn\n      Code: "${'a'.repeat(40)}!"\n`);
    // Act
    const outcome = await render(
      { ...FILES, 'gitops.yaml': gitops, 'templates/app.yaml': template },
      { stacks: ['app'], environments: ['dev'] },
    );
    // Assess
    expect(outcome.errors[0]!.error).toMatchObject({ reason: 'InvalidParameter' });
    expect(outcome.errors[0]!.error.message).toContain('parameters.Code: value does not match AllowedPattern (a+)+b');
  });

  it('still accepts a matching value and leaves lookarounds (no linear form) to CloudFormation', async () => {
    const template = APP.replace(
      'Resources:',
      "  Code: { Type: String, AllowedPattern: '(a+)+b' }\nResources:",
    ).replace('Resources:', "  Look: { Type: String, AllowedPattern: '(?=vpc-).*' }\nResources:");
    const gitops = GITOPS.replace(
      '      LogLevel: warn\n',
      '      LogLevel: warn\n      Code: aaab\n      Look: vpc-1\n',
    );
    const outcome = await render(
      { ...FILES, 'gitops.yaml': gitops, 'templates/app.yaml': template },
      { stacks: ['app'], environments: ['dev'] },
    );
    expect(outcome.errors).toEqual([]);
  });
});

describe('incremental render', () => {
  it('skips a stack whose input files did not change, and renders it again when one did', async () => {
    // Prepare
    const first = await render(FILES);
    const previous = (key: string) => {
      const r = first.rendered.find((x) => x.key === key);
      return r ? { inputs: { ...r.inputs }, hash: r.hash } : undefined;
    };
    // Act
    const unrelated = await render({ ...FILES, 'README.md': '# changed\n' }, { previous });
    const templateChanged = await render(
      { ...FILES, 'templates/network.yaml': NETWORK.replace('Vpc:', 'Vpc2:').replace('!Ref Vpc', '!Ref Vpc2') },
      { previous },
    );
    // Assess
    expect(unrelated.rendered).toEqual([]);
    expect(unrelated.unchanged.sort()).toEqual(['dev/app', 'dev/network', 'prod/app', 'prod/network']);
    expect(templateChanged.rendered.map((r) => r.key).sort()).toEqual(['dev/network', 'prod/network']);
    expect(templateChanged.unchanged.sort()).toEqual(['dev/app', 'prod/app']);
  });

  it('does not read the template of an unchanged stack', async () => {
    const first = await render(FILES);
    const snapshot = memorySnapshot(FILES);
    const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-central-1' });
    snapshot.reads.length = 0;
    await renderStacks(snapshot, config, {
      previous: (key) => {
        const r = first.rendered.find((x) => x.key === key)!;
        return { inputs: { ...r.inputs }, hash: r.hash };
      },
    });
    expect(snapshot.reads).not.toContain('templates/app.yaml');
    expect(snapshot.reads).not.toContain('templates/network.yaml');
  });
});

describe('hash', () => {
  it('is the same whatever the key order of the files', async () => {
    const reordered = NETWORK.replace(
      'Parameters:\n  Cidr: { Type: String, Default: 10.0.0.0/16,',
      'Parameters:\n  Cidr: { Default: 10.0.0.0/16, Type: String,',
    );
    const a = await render(FILES, { stacks: ['network'], environments: ['dev'] });
    const b = await render(
      { ...FILES, 'templates/network.yaml': reordered },
      { stacks: ['network'], environments: ['dev'] },
    );
    expect(b.rendered[0]!.inputs).not.toEqual(a.rendered[0]!.inputs);
    expect(b.rendered[0]!.hash).toBe(a.rendered[0]!.hash);
  });

  it('changes with any input CloudFormation would see', async () => {
    const hashOf = async (files: Record<string, MemoryFile>) =>
      (await render(files, { stacks: ['app'], environments: ['dev'] })).rendered[0]!.hash;
    const base = await hashOf(FILES);
    const variants = [
      { ...FILES, 'gitops.yaml': GITOPS.replace('Memory: 512', 'Memory: 513') },
      { ...FILES, 'gitops.yaml': GITOPS.replace('team: app,', 'team: app2,') },
      { ...FILES, 'gitops.yaml': GITOPS.replace('region: eu-west-1', 'region: eu-west-2') },
      { ...FILES, 'gitops.yaml': GITOPS.replace('111111111111', '999999999999') },
      { ...FILES, 'gitops.yaml': GITOPS.replace('output:network.VpcId', 'output:network.Vpc') },
      { ...FILES, 'templates/app.yaml': APP.replace('app-${Env}', 'svc-${Env}') },
      { ...FILES, 'templates/app.yaml': APP.replace('      RoleName: !Sub app-${Env}\n', '') },
    ];
    const hashes = await Promise.all(variants.map(hashOf));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });

  it('canonicalJson sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"e":2,"f":1}]},"b":1}',
    );
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
