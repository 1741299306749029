/**
 * `gitops plan <repo> --ref <head> --base <branch> --output markdown`: the pull-request comment body any CI can
 * post, as a real process on the bundled example. The snapshot is the comment a reviewer reads for a change that
 * replaces a resource.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PREVIEW_MARKER, previewMarkdown } from '../../shared/preview/markdown.ts';
import type { Preview } from '../../shared/preview/types.ts';
import { gitops } from '../cli/run-gitops.ts';
import { addIamUser, type ExampleRepo, examplePolicy, renameOrdersTable, syncedExample } from './example-repo.ts';

let example: ExampleRepo;
let head: string;

beforeAll(async () => {
  example = await syncedExample();
  head = example.branch('rename-orders', { 'templates/data.yaml': renameOrdersTable }, 'Name the orders table');
}, 120_000);

describe('gitops plan --base --output markdown', () => {
  it('prints the comment for a change that replaces a resource, and exits 1', async () => {
    const run = await gitops([
      'plan',
      example.dir,
      '--ref',
      'rename-orders',
      '--base',
      'main',
      '--output',
      'markdown',
      '--state',
      example.state,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout.startsWith(`${PREVIEW_MARKER}\n`)).toBe(true);
    expect(run.stdout).toContain(`Commit \`${head.slice(0, 7)}\` of \`rename-orders\``);
    // Commit ids differ on every run; everything else is the snapshot.
    const stable = run.stdout.replace(/`[0-9a-f]{7}`/g, '`<sha>`');
    await expect(stable).toMatchFileSnapshot('__snapshots__/rename-orders.md');
  });

  it('exits 0 when the head changes nothing', async () => {
    const run = await gitops([
      'plan',
      example.dir,
      '--ref',
      'main',
      '--base',
      'main',
      '-o',
      'markdown',
      '--state',
      example.state,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('### lambda-gitops preview: no changes');
    expect(run.stdout).toContain('15 stacks unchanged.');
  });

  it('with --policy, lists what the installation policy refuses with file and line, and exits 2', async () => {
    example.branch('iam-user', { 'templates/data.yaml': addIamUser });
    const policy = join(mkdtempSync(join(tmpdir(), 'gitops-preview-policy-')), 'policy.yaml');
    writeFileSync(policy, examplePolicy(example.dir));
    const args = [
      'plan',
      example.dir,
      '--ref',
      'iam-user',
      '--base',
      'main',
      '-o',
      'markdown',
      '--state',
      example.state,
    ];
    const run = await gitops([...args, '--policy', policy]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/`templates\/data\.yaml:\d+`: policy violation: data \(dev\): .*AWS::IAM::User/);
    // The same head without the policy is a change like any other.
    expect((await gitops(args)).code).toBe(1);
  });

  it('refuses --output markdown without --base', async () => {
    const run = await gitops(['plan', example.dir, '-o', 'markdown', '--state', example.state]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--output markdown is for gitops plan <repo> --ref <head> --base <branch>');
  });
});

describe('previewMarkdown escapes what the pull request wrote', () => {
  const base: Preview = {
    repo: '/r',
    baseBranch: 'main',
    base: { sha: 'a'.repeat(40) },
    headRef: 'feature',
    head: { sha: 'b'.repeat(40) },
    environments: ['dev'],
    mode: 'offline',
    unchanged: 0,
    stacks: [
      {
        key: 'dev/x',
        stack: 'x',
        environment: 'dev',
        stackName: 'x|<img src=x onerror=alert(1)>',
        region: 'eu-west-1',
        status: 'failed',
        capabilities: [],
        newCapabilities: [],
        failure: {
          reason: 'InvalidTemplate',
          message: '<script>alert(1)</script>\n| injected |',
          file: 'a`b.yaml',
          line: 3,
        },
      },
      {
        key: 'dev/y',
        stack: 'y',
        environment: 'dev',
        stackName: 'y',
        region: 'eu-west-1',
        status: 'create',
        capabilities: [],
        newCapabilities: [],
        changes: { added: ['R'], modified: [], removed: [], replaced: [], parametersChanged: [], tagsChanged: [] },
        diffText: 'Resources\n[+] R\n```\n</details><script>x</script>',
      },
    ],
  };

  it('no raw HTML, no broken table row, a fence the diff cannot close', () => {
    const md = previewMarkdown(base);
    // Inside a code fence HTML is shown as text; outside of fences none may appear.
    const outside = md.replace(/````diff\n[\s\S]*?\n````/g, '');
    expect(outside).not.toContain('<img');
    expect(outside).not.toContain('<script>');
    expect(md).toContain('&lt;script&gt;');
    const row = md.split('\n').find((l) => l.startsWith('| `dev/x`'));
    expect(row?.split(/(?<!\\)\|/).length).toBe(6);
    expect(md).toContain('````diff\nResources');
  });

  it('stays under the comment limit with a huge diff, saying the diff was left out', () => {
    const huge = 'x'.repeat(200) + '\n';
    const stacks = Array.from({ length: 40 }, (_, i) => ({
      ...base.stacks[1]!,
      key: `dev/s${i}`,
      diffText: huge.repeat(140),
    }));
    const md = previewMarkdown({ ...base, stacks });
    expect(md.length).toBeLessThanOrEqual(60_000);
    expect(md).toContain('_The diff is too long for a comment; run `gitops plan` to see it._');
    expect(md.match(/^\| `dev\/s\d+`/gm)).toHaveLength(40);
  });
});
