/** Packaging as `aws cloudformation package` does it, with deterministic zips, through the real render. */
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../shared/adapters/aws/artifact-store-s3.ts';
import { loadRepoConfig } from '../../shared/config/load.ts';
import type { RenderedStack } from '../../shared/model.ts';
import { artifactBytes, PACKAGED_PROPERTIES } from '../../shared/render/packaging.ts';
import { type RenderOptions, renderStacks } from '../../shared/render/render.ts';
import { deterministicZip } from '../../shared/render/zip.ts';
import { type MemoryFile, memorySnapshot } from '../config/memory-snapshot.ts';
import { readZip } from '../helpers/zip-reader.ts';

const GITOPS = `environments:
  - name: dev
    region: eu-west-1
  - name: prod
    region: us-east-1
    role: arn:aws:iam::111111111111:role/deployer
stacks:
  - name: api
    template: stacks/api/template.yaml
  - name: worker
    template: stacks/worker.yaml
`;
const API = `Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: nodejs22.x
      Handler: index.handler
      Role: arn:aws:iam::111111111111:role/fn
      Code: ../../src/api
`;
const WORKER = `Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: worker.handler
      CodeUri: ../src/worker/worker.py
`;
const FILES: Record<string, MemoryFile> = {
  'gitops.yaml': GITOPS,
  'stacks/api/template.yaml': API,
  'stacks/worker.yaml': WORKER,
  'src/api/index.mjs': 'export const handler = async () => ({ statusCode: 200 });\n',
  'src/api/lib/util.mjs': 'export const one = 1;\n',
  'src/worker/worker.py': 'def handler(event, context):\n    return 1\n',
};

async function render(files: Record<string, MemoryFile>, options: RenderOptions = {}, sha?: string) {
  const snapshot = memorySnapshot(files, sha ? { sha } : {});
  const config = await loadRepoConfig(snapshot, { defaultRegion: 'eu-west-1' });
  return { snapshot, ...(await renderStacks(snapshot, config, options)) };
}
const byKey = (rendered: readonly RenderedStack[], key: string) => rendered.find((r) => r.key === key)!;
const props = (r: RenderedStack, id: string) => r.template.Resources?.[id]?.Properties as Record<string, unknown>;

describe('deterministic zips', () => {
  it('give the same bytes for the same files, whatever order or commit, with fixed times and Git modes', () => {
    const a = deterministicZip([
      { name: 'b.sh', data: Buffer.from('#!/bin/sh\n'), mode: '100755' },
      { name: 'a.txt', data: Buffer.from('a'.repeat(1000)) },
    ]);
    const b = deterministicZip([
      { name: 'a.txt', data: Buffer.from('a'.repeat(1000)), mode: '100644' },
      { name: 'b.sh', data: Buffer.from('#!/bin/sh\n'), mode: '100755' },
    ]);
    expect(b.equals(a)).toBe(true);
    const entries = readZip(a);
    expect(entries.map((e) => [e.name, e.mode.toString(8), e.dosTime, e.dosDate])).toEqual([
      ['a.txt', '100644', 0, 33],
      ['b.sh', '100755', 0, 33],
    ]);
    expect(entries[0]?.data.toString()).toBe('a'.repeat(1000));
  });

  it('a folder renders to the same key in another commit and for every environment', async () => {
    const first = await render(FILES, {}, 'a'.repeat(40));
    const second = await render(FILES, {}, 'b'.repeat(40));
    const key = (r: RenderedStack) => (props(r, 'Fn')['Code'] as { S3Key: string }).S3Key;
    expect(key(byKey(first.rendered, 'dev/api'))).toMatch(/^artifacts\/[0-9a-f]{64}\.zip$/);
    expect(key(byKey(second.rendered, 'dev/api'))).toBe(key(byKey(first.rendered, 'dev/api')));
    expect(key(byKey(first.rendered, 'prod/api'))).toBe(key(byKey(first.rendered, 'dev/api')));
  });
});

describe('packaging through render', () => {
  it('zips a code folder and a single Serverless file, as the AWS CLI does', async () => {
    const { rendered, snapshot, errors } = await render(FILES);
    expect(errors).toEqual([]);
    const api = byKey(rendered, 'dev/api');
    expect(props(api, 'Fn')['Code']).toEqual({ S3Bucket: 'lambda-gitops-local', S3Key: api.artifacts?.[0]?.key });
    const zip = readZip(Buffer.from(await artifactBytes(snapshot, api.artifacts![0]!)));
    expect(zip.map((e) => e.name)).toEqual(['index.mjs', 'lib/util.mjs']);

    const worker = byKey(rendered, 'dev/worker');
    const codeUri = props(worker, 'Worker')['CodeUri'] as string;
    expect(codeUri).toMatch(/^s3:\/\/lambda-gitops-local\/artifacts\/[0-9a-f]{64}\.zip$/);
    const workerZip = readZip(Buffer.from(await artifactBytes(snapshot, worker.artifacts![0]!)));
    expect(workerZip.map((e) => e.name)).toEqual(['worker.py']);
    // The code's files are inputs of the stack.
    expect(Object.keys(api.inputs).sort()).toEqual([
      'gitops.yaml',
      'src/api/',
      'src/api/index.mjs',
      'src/api/lib/util.mjs',
      'stacks/api/template.yaml',
    ]);
  });

  it('writes the location the artifact store gives for the target: its bucket per account and region', async () => {
    const located: unknown[] = [];
    const { rendered } = await render(FILES, {
      artifacts: {
        locate: (target) => {
          located.push(target);
          const bucket = `assets-${target.role ? target.role.split(':')[4] : 'self'}-${target.region}`;
          return { bucket, url: (key) => `https://${bucket}.s3.${target.region}.amazonaws.com/${key}` };
        },
      },
    });
    expect((props(byKey(rendered, 'prod/api'), 'Fn')['Code'] as { S3Bucket: string }).S3Bucket).toBe(
      'assets-111111111111-us-east-1',
    );
    expect((props(byKey(rendered, 'dev/api'), 'Fn')['Code'] as { S3Bucket: string }).S3Bucket).toBe(
      'assets-self-eu-west-1',
    );
    expect(located).toContainEqual({ region: 'us-east-1', role: 'arn:aws:iam::111111111111:role/deployer' });
  });

  it('asks for a bucket only when the stack packages something: a plain stack renders in a region without one', async () => {
    // The installation bucket serves eu-west-1 only; no bucket is named for the installation's other regions.
    const artifacts = new S3ArtifactStore({
      s3: (target) => new S3Client({ region: target.region }),
      installation: { bucket: 'gitops-state', region: 'eu-west-1' },
    });
    const gitops = `environments:
  - name: dev
    region: eu-west-1
  - name: prod
    region: us-east-1
stacks:
  - name: api
    template: stacks/api/template.yaml
  - name: queue
    template: stacks/queue.yaml
`;
    const queue = 'Resources:\n  Work:\n    Type: AWS::SQS::Queue\n';
    const { rendered, errors } = await render(
      { ...FILES, 'gitops.yaml': gitops, 'stacks/queue.yaml': queue },
      { artifacts },
    );
    expect(rendered.map((r) => r.key).sort()).toEqual(['dev/api', 'dev/queue', 'prod/queue']);
    expect(byKey(rendered, 'prod/queue').artifacts ?? []).toEqual([]);
    expect(errors.map((e) => [e.key, e.error.field])).toEqual([['prod/api', 'artifactBucket']]);
    expect(errors[0]?.error.message).toContain('GITOPS_ARTIFACT_BUCKET');
  });

  it('re-renders only the stacks that use changed code; a file added to a code folder counts', async () => {
    const first = await render(FILES);
    const previous = (key: string) => {
      const r = first.rendered.find((s) => s.key === key);
      return r ? { inputs: { ...r.inputs }, hash: r.hash } : undefined;
    };
    const same = await render(FILES, { previous });
    expect(same.rendered).toEqual([]);

    const edited = await render({ ...FILES, 'src/api/lib/util.mjs': 'export const one = 2;\n' }, { previous });
    expect(edited.rendered.map((r) => r.key).sort()).toEqual(['dev/api', 'prod/api']);
    expect(edited.unchanged.sort()).toEqual(['dev/worker', 'prod/worker']);
    expect(byKey(edited.rendered, 'dev/api').hash).not.toBe(byKey(first.rendered, 'dev/api').hash);

    const added = await render({ ...FILES, 'src/api/new.mjs': 'export {};\n' }, { previous });
    expect(added.rendered.map((r) => r.key).sort()).toEqual(['dev/api', 'prod/api']);
  });

  it('packages every property of the AWS CLI list', async () => {
    const resources = PACKAGED_PROPERTIES.map((p, i) => {
      const path = p.property.split('.');
      const value = p.form.kind === 'template' ? './nested.yaml' : './assets/thing.txt';
      const properties = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
      return `  R${i}:\n    Type: ${p.type}\n    Properties: ${JSON.stringify(properties)}\n`;
    }).join('');
    const files = {
      'gitops.yaml':
        'environments:\n  - name: dev\n    region: eu-west-1\nstacks:\n  - name: all\n    template: t/all.yaml\n',
      't/all.yaml': `Resources:\n${resources}  Inc:\n    Type: AWS::SNS::Topic\n    Properties:\n      Fn::Transform:\n        Name: AWS::Include\n        Parameters: { Location: ./assets/snippet.yaml }\n`,
      't/nested.yaml': 'Resources:\n  Q: { Type: AWS::SQS::Queue }\n',
      't/assets/thing.txt': 'content\n',
      't/assets/snippet.yaml': 'Properties: {}\n',
    };
    const { rendered, errors } = await render(files);
    expect(errors).toEqual([]);
    const all = byKey(rendered, 'dev/all');
    for (const [i, p] of PACKAGED_PROPERTIES.entries()) {
      const holder = p.property
        .split('.')
        .slice(0, -1)
        .reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, props(all, `R${i}`));
      const value = holder[p.property.split('.').at(-1)!];
      if (p.form.kind === 'template') {
        expect(value).toMatch(/^https:\/\/lambda-gitops-local\.invalid\/templates\/[0-9a-f]{64}\.json$/);
      } else if (p.form.kind === 's3url') {
        expect(value).toMatch(p.forceZip ? /\/artifacts\/[0-9a-f]{64}\.zip$/ : /\/artifacts\/[0-9a-f]{64}\.txt$/);
      } else {
        expect(Object.keys(value as object)).toEqual([p.form.bucket, p.form.key]);
      }
    }
    expect(all.template.Resources?.['Inc']?.Properties).toEqual({
      'Fn::Transform': {
        Name: 'AWS::Include',
        Parameters: { Location: expect.stringMatching(/^s3:\/\/lambda-gitops-local\/artifacts\/[0-9a-f]{64}\.yaml$/) },
      },
    });
    expect(Object.keys(all.nestedTemplates ?? {}).sort()).toEqual(['R10', 'R11']);
  });

  it.each([
    ['a path that leaves the repository', '../../../../etc/passwd', 'PathEscape', /leaves the repository/],
    ['an absolute path', '/etc/passwd', 'PathEscape', /absolute/],
    ['a missing folder', '../../src/missing', 'MissingFile', /src\/missing/],
  ])('refuses %s, naming the template and property', async (_what, code, reason, message) => {
    const { errors } = await render({ ...FILES, 'stacks/api/template.yaml': API.replace('../../src/api', code) });
    expect(errors.map((e) => e.key)).toEqual(['dev/api', 'prod/api']);
    expect(errors[0]?.error.reason).toBe(reason);
    expect(errors[0]?.error.message).toMatch(message);
    // Render errors carry the line of the field they name (shared/render/locate.ts): `Code:` is on line 8.
    expect(errors[0]?.error.message).toContain('stacks/api/template.yaml:8: Resources.Fn.Properties.Code: ');
    expect(errors[0]?.error).toMatchObject({ file: 'stacks/api/template.yaml', line: 8 });
  });

  it('leaves S3 locations, inline code and intrinsics alone', async () => {
    const template = `Resources:
  A: { Type: AWS::Lambda::Function, Properties: { Code: { ZipFile: "exports.handler=1" } } }
  B: { Type: AWS::Serverless::Function, Properties: { CodeUri: s3://bucket/key.zip } }
  C: { Type: AWS::CloudFormation::Stack, Properties: { TemplateURL: !Sub "https://b.s3.amazonaws.com/\${AWS::Region}.json" } }
`;
    const { rendered } = await render({ ...FILES, 'stacks/worker.yaml': template });
    const worker = byKey(rendered, 'dev/worker');
    expect(worker.artifacts).toBeUndefined();
    expect(props(worker, 'B')['CodeUri']).toBe('s3://bucket/key.zip');
  });
});
