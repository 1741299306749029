import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemas, jsonSchemaText } from '../../shared/config/json-schema.ts';
import { loadRepoConfig } from '../../shared/config/load.ts';
import { ConfigError, type GitOpsError } from '../../shared/errors.ts';
import { type MemoryFile, memorySnapshot } from './memory-snapshot.ts';
import { FULL_FILES, FULL_GITOPS, TEMPLATE } from './repo-fixtures.ts';

const REGION = { defaultRegion: 'eu-central-1' };

async function loadError(files: Record<string, MemoryFile>, options = REGION): Promise<GitOpsError> {
  try {
    await loadRepoConfig(memorySnapshot(files), options);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as GitOpsError;
  }
  throw new Error('expected a ConfigError');
}

describe('zero configuration: Git sync deployment files', () => {
  it('makes every deployment file a stack named after its file', async () => {
    // Prepare
    const snapshot = memorySnapshot({
      'stacks/network.yaml': 'template-file-path: cfn/network.yaml\nparameters:\n  Version: 1.10\ntags:\n  Team: net\n',
      'stacks/app.json': '{"template-file-path": "cfn/app.yaml", "parameters": {"Count": 2}}',
      'cfn/network.yaml': TEMPLATE,
      'cfn/app.yaml': TEMPLATE,
      'README.md': 'template-file-path: not yaml',
      'other/config.yaml': 'name: not a deployment file\n',
    });
    // Act
    const config = await loadRepoConfig(snapshot, REGION);
    // Assess
    expect(config.mode).toBe('deployment-files');
    expect(config.environments).toEqual([
      expect.objectContaining({ name: 'default', region: 'eu-central-1', parameters: {}, tags: {} }),
    ]);
    expect(config.stacks.map((s) => [s.name, s.templatePath, s.declaredIn])).toEqual(
      [
        ['network', 'cfn/network.yaml', 'stacks/network.yaml'],
        ['app', 'cfn/app.yaml', 'stacks/app.json'],
      ].sort((a, b) => (a[2]! < b[2]! ? -1 : 1)),
    );
    const network = config.stacks.find((s) => s.name === 'network')!;
    expect(network.parameters).toEqual({ Version: '1.10' });
    expect(network.tags).toEqual({ Team: 'net' });
    expect(network.stackNamePattern).toBe('{stack}');
    expect(config.stacks.find((s) => s.name === 'app')!.parameters).toEqual({ Count: '2' });
  });

  it('refuses two files giving one stack name, naming both', async () => {
    const err = await loadError({
      'a/network.yaml': 'template-file-path: t.yaml\n',
      'b/network.yml': 'template-file-path: t.yaml\n',
      't.yaml': TEMPLATE,
    });
    expect(err.reason).toBe('DuplicateStack');
    expect(err.message).toContain('a/network.yaml');
    expect(err.message).toContain('b/network.yml');
  });

  it('refuses unknown fields in a deployment file with its line', async () => {
    const err = await loadError({ 'd/x.yaml': 'template-file-path: t.yaml\nparamters:\n  A: b\n', 't.yaml': TEMPLATE });
    expect(err.reason).toBe('InvalidConfig');
    expect(err.message).toContain('d/x.yaml:2: paramters: unknown field "paramters"');
  });

  it('renders only the deployment file given, ignoring gitops.yaml', async () => {
    const config = await loadRepoConfig(memorySnapshot(FULL_FILES), {
      ...REGION,
      deploymentFile: 'deploy/services/queue.yaml',
    });
    expect(config.mode).toBe('deployment-files');
    expect(config.stacks.map((s) => s.name)).toEqual(['queue']);
    expect(config.stacks[0]!.tags).toEqual({ svc: 'queue' });
  });
});

describe('gitops.yaml', () => {
  it('loads three environments and five stacks', async () => {
    // Act
    const config = await loadRepoConfig(memorySnapshot(FULL_FILES), REGION);
    // Assess
    expect(config.mode).toBe('gitops.yaml');
    expect(config.environments.map((e) => [e.name, e.region])).toEqual([
      ['dev', 'eu-west-1'],
      ['staging', 'eu-central-1'],
      ['prod', 'us-east-1'],
    ]);
    const [dev, staging, prod] = config.environments;
    expect(dev!.tags).toEqual({ owner: 'platform', costCenter: '0042', env: 'dev' });
    expect(dev!.syncPolicy).toEqual({ automated: true, prune: true, selfHeal: false });
    expect(prod!.syncPolicy).toEqual({ automated: false, prune: true, selfHeal: true });
    expect(staging!.externalId).toBe('staging-ext');
    expect(dev!.branch).toBe('main');
    expect(config.stacks.map((s) => s.name).sort()).toEqual(['app', 'cache', 'data', 'network', 'queue']);
    const app = config.stacks.find((s) => s.name === 'app')!;
    expect(app.parameters).toEqual({ Memory: '512', Version: '1.10' });
    expect(app.overrides['prod']).toEqual({
      stackName: 'app-production',
      parameters: { Memory: '2048' },
      tags: { team: 'app-prod' },
    });
    expect(app.environments).toEqual(['dev', 'staging', 'prod']);
    const queue = config.stacks.find((s) => s.name === 'queue')!;
    expect(queue).toMatchObject({
      declaredIn: 'deploy/services/queue.yaml',
      templatePath: 'templates/queue.yaml',
      environments: ['dev', 'prod'],
      dependsOn: ['network'],
      tags: { svc: 'queue' },
    });
    expect(config.stacks.find((s) => s.name === 'data')!.stackNamePattern).toBe('{env}-data');
    expect(config.notifications).toEqual([
      { events: ['Sync Failed', 'Drift Detected'], severity: 'warning', environments: ['prod'] },
    ]);
  });

  const invalid: [string, string, string, string][] = [
    [
      'an unknown dependency',
      FULL_GITOPS.replace('dependsOn: [network, data]', 'dependsOn: [network, netwrk]'),
      'UnknownDependency',
      'gitops.yaml:26: stacks[1].dependsOn[1]: unknown stack "netwrk" (known: network, app, cache, queue, data)',
    ],
    [
      'an unknown field',
      FULL_GITOPS.replace('    alarms: [app-5xx]', '    alarms: [app-5xx]\n    dependson: [x]'),
      'InvalidConfig',
      'gitops.yaml:30: stacks[1].dependson: unknown field "dependson"',
    ],
    [
      'a bad region',
      FULL_GITOPS.replace('region: eu-central-1', 'region: Frankfurt'),
      'InvalidConfig',
      'gitops.yaml:13: environments[1].region: not an AWS region name',
    ],
    [
      'a bad role ARN',
      FULL_GITOPS.replace('arn:aws:iam::333333333333:role/deployer', 'deployer'),
      'InvalidConfig',
      'gitops.yaml:19: environments[2].role: not an IAM role ARN',
    ],
    [
      'an override for an unknown environment',
      FULL_GITOPS.replace('      prod:\n        stackName', '      prd:\n        stackName'),
      'InvalidConfig',
      'gitops.yaml:31: stacks[1].overrides.prd: unknown environment "prd" (known: dev, staging, prod)',
    ],
    [
      'a stack with two sources',
      FULL_GITOPS.replace(
        '  - deploymentFile: deploy/network.yaml',
        '  - deploymentFile: deploy/network.yaml\n    template: t.yaml',
      ),
      'InvalidConfig',
      'gitops.yaml:23: stacks[0]: a stack takes only one of template, deploymentFile',
    ],
    [
      'an unknown event in notifications',
      FULL_GITOPS.replace('"Drift Detected"', '"Drift Detectd"'),
      'InvalidConfig',
      'gitops.yaml:44: notifications[0].events[1]: not an event; use one of Push Received',
    ],
  ];
  it.each(invalid)('names file, line and field for %s', async (_what, gitops, reason, expected) => {
    // Act
    const err = await loadError({ ...FULL_FILES, 'gitops.yaml': gitops });
    // Assess
    expect(err.reason).toBe(reason);
    expect(err.message).toContain(expected);
    expect(err.file).toBe('gitops.yaml');
    expect(err.describe()).toContain('gitops.yaml');
  });

  it('reports a dependency cycle with its path', async () => {
    const gitops = FULL_GITOPS.replace(
      '    serviceRole: arn:aws:iam::111111111111:role/cfn-service',
      '    serviceRole: arn:aws:iam::111111111111:role/cfn-service\n    environments: [dev, staging, prod]',
    ).replace('dependsOn: [network]\n    serviceRole', 'dependsOn: [network, app]\n    serviceRole');
    const err = await loadError({ ...FULL_FILES, 'gitops.yaml': gitops });
    expect(err.reason).toBe('DependencyCycle');
    expect(err.message).toMatch(/dependency cycle: (app -> data -> app|data -> app -> data)/);
    expect(err.line).toBeGreaterThan(0);
  });

  it("refuses a dependency missing from one of the stack's environments", async () => {
    const gitops = FULL_GITOPS.replace(
      'dependsOn: [network]\n    environments: [dev, prod]',
      'dependsOn: [network]\n    environments: [dev, prod]\n  - name: late\n    template: templates/app.yaml\n    dependsOn: [queue]',
    );
    const err = await loadError({ ...FULL_FILES, 'gitops.yaml': gitops });
    expect(err.reason).toBe('UnknownDependency');
    expect(err.message).toContain('stack "queue" is not deployed to environment "staging"');
  });

  it('refuses a glob that matches nothing', async () => {
    const err = await loadError({
      ...FULL_FILES,
      'gitops.yaml': FULL_GITOPS.replace('deploy/services/*.yaml', 'deploy/svc/*.yaml'),
    });
    expect(err.message).toContain('stacks[2].deploymentFiles: "deploy/svc/*.yaml" matches no file');
  });

  it('refuses a stack declared twice, naming both places', async () => {
    const err = await loadError({
      ...FULL_FILES,
      'gitops.yaml': FULL_GITOPS.replace('  - name: data\n', '  - name: queue\n'),
    });
    expect(err.reason).toBe('DuplicateStack');
    expect(err.message).toContain('deploy/services/queue.yaml');
    expect(err.message).toMatch(/gitops\.yaml:\d+.*gitops\.yaml:\d+/);
  });

  it('needs signing keys when signing is required', async () => {
    const err = await loadError({ ...FULL_FILES, 'gitops.yaml': `${FULL_GITOPS}signing:\n  required: true\n` });
    expect(err.message).toContain('signing: signing.required needs at least one key');
    const ok = await loadRepoConfig(
      memorySnapshot({ ...FULL_FILES, 'gitops.yaml': `${FULL_GITOPS}signing:\n  ssmKeys: [/gitops/signing-key]\n` }),
      REGION,
    );
    expect(ok.signing).toEqual({ required: true, keys: [], ssmKeys: ['/gitops/signing-key'] });
  });
});

describe('paths stay inside the repository', () => {
  const withStack = (stack: string): Record<string, MemoryFile> => ({
    'gitops.yaml': `environments:\n  - name: dev\nstacks:\n${stack}`,
    'templates/app.yaml': TEMPLATE,
  });

  it.each([
    ['..', '  - name: app\n    template: ../outside/app.yaml\n', 'gitops.yaml:5: stacks[0].template', '".."'],
    [
      'an absolute path',
      '  - name: app\n    template: /etc/app.yaml\n',
      'gitops.yaml:5: stacks[0].template',
      'absolute',
    ],
    [
      '.. in a deployment file',
      '  - deploymentFile: ../x/app.yaml\n',
      'gitops.yaml:4: stacks[0].deploymentFile',
      '".."',
    ],
  ])('refuses %s', async (_what, stack, where, text) => {
    const err = await loadError(withStack(stack));
    expect(err.reason).toBe('PathEscape');
    expect(err.message).toContain(`${where}:`);
    expect(err.message).toContain(text);
  });

  it('refuses a deployment file whose template path climbs out', async () => {
    const err = await loadError({ 'deploy/app.yaml': 'template-file-path: ../../etc/passwd\n' });
    expect(err.reason).toBe('PathEscape');
    expect(err.message).toContain('deploy/app.yaml:1: template-file-path:');
  });

  it('refuses a deployment file symlink that leaves the repository', async () => {
    const err = await loadError({
      ...withStack('  - deploymentFile: deploy/app.yaml\n'),
      'deploy/app.yaml': { link: '../../../home/user/app.yaml' },
    });
    expect(err.reason).toBe('PathEscape');
    expect(err.message).toContain('symbolic link "deploy/app.yaml" points outside the repository');
  });

  it('follows a symlink inside the repository', async () => {
    const config = await loadRepoConfig(
      memorySnapshot({
        ...withStack('  - deploymentFile: deploy/app.yaml\n'),
        'deploy/app.yaml': { link: '../shared/app.yaml' },
        'shared/app.yaml': 'template-file-path: templates/app.yaml\n',
      }),
      REGION,
    );
    expect(config.stacks.map((s) => [s.name, s.templatePath])).toEqual([['app', 'templates/app.yaml']]);
  });

  it('names the manifest and path of a missing deployment file', async () => {
    const err = await loadError(withStack('  - deploymentFile: deploy/nope.yaml\n'));
    expect(err.reason).toBe('MissingFile');
    expect(err.message).toContain('gitops.yaml:4: stacks[0].deploymentFile: file "deploy/nope.yaml" does not exist');
  });
});

describe('JSON Schema', () => {
  it.each(Object.entries(jsonSchemas()))(
    'schema/%s is up to date with the zod schema (npm run schema)',
    (name, schema) => {
      const committed = readFileSync(join(import.meta.dirname, '../../schema', name), 'utf8');
      expect(committed).toBe(jsonSchemaText(schema));
    },
  );

  it('describes the fields of gitops.yaml for editors', () => {
    const schema = jsonSchemas()['gitops.schema.json'] as {
      properties: Record<string, unknown>;
      additionalProperties: unknown;
    };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['defaults', 'environments', 'stacks', 'notifications', 'signing']),
    );
    expect(schema.additionalProperties).toBe(false);
  });
});
