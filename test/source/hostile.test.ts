/**
 * Hostile sources (issues 11, 12 and 13): what a pusher, a server or a redirect can make a fetch do. Every case goes
 * through a real `git http-backend` (test/helpers/git-server.ts) or a real repository on disk; memory is measured in
 * a child process running the real CLI (its own peak RSS), and compared as a ratio.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reason, SourceError } from '../../shared/errors.ts';
import { clearMemoryCache, LocalSource, openSource, RemoteSource } from '../../shared/source/index.ts';
import { sourceLimits } from '../../shared/source/limits.ts';
import { PackError, readPack } from '../../shared/source/pack.ts';
import {
  commitFiles,
  createBareRepo,
  createWorkRepo,
  type GitEnv,
  git,
  gitText,
  makeGitEnv,
  push,
} from '../helpers/git-repo.ts';
import { type GitServer, startGitServer } from '../helpers/git-server.ts';

const BIN = resolve('bin/gitops.js');
const PEAK_RSS = resolve('test/helpers/peak-rss.cjs');
const BOMB = resolve('test/fixtures/zero-blob-bomb');
const TOKEN = 'ghp_hostileCanary1234567890abcdef';

const queueTemplate = [
  'AWSTemplateFormatVersion: "2010-09-09"',
  'Resources:',
  '  Queue:',
  '    Type: AWS::SQS::Queue',
  '    Properties:',
  '      VisibilityTimeout: 30',
  '',
].join('\n');
const oneStack = {
  'deploy/queue.yaml': 'template-file-path: templates/queue.yaml\n',
  'templates/queue.yaml': queueTemplate,
};

let genv: GitEnv;
let root: string;
let server: GitServer;
let authServer: GitServer;
let work: string;
let random: Buffer;
let copy: Buffer;

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The child's own peak resident set size, KiB. */
  readonly peakKib: number;
}

/** Runs the real `gitops` CLI in a child process with a fresh cache, and reads its peak RSS as it reports it. */
function gitops(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ['--require', PEAK_RSS, BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: genv.home, XDG_CACHE_HOME: tmp('gitops-hostile-cache-'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const peak = /peak-rss-kib (\d+)/.exec(stderr);
      ok({ code: code ?? -1, stdout, stderr: stderr.replace(/\npeak-rss-kib \d+\n/, ''), peakKib: Number(peak?.[1]) });
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

/** A pack of hand-made entries: `[type, declared size, zlib bytes]`, with a valid header and checksum. */
function handPack(entries: readonly (readonly [number, number, Buffer])[]): Buffer {
  const parts: Buffer[] = [Buffer.from('PACK'), Buffer.from([0, 0, 0, 2]), Buffer.alloc(4)];
  parts[2]!.writeUInt32BE(entries.length);
  for (const [type, size, zlib] of entries) {
    const head: number[] = [];
    let rest = Math.floor(size / 16);
    let byte = (type << 4) | (size % 16);
    while (rest > 0) {
      head.push(byte | 0x80);
      byte = rest % 128;
      rest = Math.floor(rest / 128);
    }
    head.push(byte);
    parts.push(Buffer.from(head), zlib);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

beforeAll(async () => {
  genv = makeGitEnv();
  root = tmp('gitops-hostile-');

  // The zero-blob bomb of issue 12, stored as git packed it (see the fixture's make.sh).
  const bomb = createBareRepo(genv, root, 'bomb');
  for (const file of readdirSync(BOMB).filter((f) => f.startsWith('pack-'))) {
    copyFileSync(join(BOMB, file), join(bomb, 'objects', 'pack', file));
  }
  for (const line of readFileSync(join(BOMB, 'refs.txt'), 'utf8').split('\n').filter(Boolean)) {
    const [sha, ref] = line.split(' ');
    git(genv, bomb, ['update-ref', ref!, sha!]);
  }

  work = createWorkRepo(genv, join(root, 'work'));
  commitFiles(genv, work, oneStack, 'One stack');
  push(genv, work, createBareRepo(genv, root, 'one'));

  const big = createWorkRepo(genv, join(root, 'big'));
  // 1 MiB that git cannot delta or compress much: a declared size a small limit refuses.
  random = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < random.length; i += 32) createHash('sha256').update(String(i)).digest().copy(random, i);
  copy = Buffer.from(random);
  copy.write('changed', 500_000);
  // Two large files git stores as a base and a delta: the delta's result is over a small limit, so it is never built.
  commitFiles(genv, big, { ...oneStack, 'assets/big.bin': random, 'assets/copy.bin': copy }, 'Large files');
  push(genv, big, createBareRepo(genv, root, 'big'));

  const privRoot = tmp('gitops-hostile-priv-');
  push(genv, work, createBareRepo(genv, privRoot, 'private'));
  server = await startGitServer({ root, env: genv.env });
  authServer = await startGitServer({
    root: privRoot,
    env: genv.env,
    auth: { username: 'x-access-token', password: TOKEN },
  });
});

afterAll(async () => {
  await server?.close();
  await authServer?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a zero-blob bomb: eight 100 MB files of zeros in a 119 KB pack, in a folder no stack uses', () => {
  it('renders within 64 MiB more than the peak memory of a one-stack repository, and caches no inflated zeros', async () => {
    const one = await gitops(['render', server.url('one'), '--output', 'json']);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const cacheHome = tmp('gitops-hostile-bomb-cache-');
    const bomb = await gitops(['render', server.url('bomb'), '--output', 'json'], { XDG_CACHE_HOME: cacheHome });
    expect(bomb.code, bomb.stderr).toBe(0);

    const stacks = JSON.parse(bomb.stdout) as { stack: string }[];
    expect(stacks.map((s) => s.stack)).toEqual(JSON.parse(one.stdout).map((s: { stack: string }) => s.stack));
    expect(one.peakKib).toBeGreaterThan(0);
    // Streaming 800 MB of zeros through sha-1 to find where each entry ends leaves freed zlib output in the process's
    // RSS: about 40 MB, whatever the number of files (measured: 56 MB one stack, 95 MB the bomb, 1.7x; it was 1.3x
    // while the CLI still loaded the whole resource specification, 102 against 133 MB). Bounded, not proportional.
    expect(bomb.peakKib - one.peakKib).toBeLessThan(64 * 1024);
    // The disk cache holds the objects the way they came (compressed), not 800 MB of zeros.
    expect(duBytes(cacheHome)).toBeLessThan(1024 * 1024);
  });

  it('fails with FetchTooLarge naming the path and the limit when a stack reads one of the files', async () => {
    const run = await gitops(['render', server.url('bomb'), '--ref', 'zeros-yaml', '--output', 'json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /deploy\/zeros\.yaml is (95\.4 MiB, )?over the limit of 64 MiB per object \(GITOPS_MAX_OBJECT_BYTES\)/,
    );
    expect(run.peakKib).toBeGreaterThan(0);
  });
});

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

describe('size limits', () => {
  it('lists an object over the per-object limit but refuses to read it, naming the path and the limit', async () => {
    const cacheDir = tmp('gitops-hostile-objcache-');
    const limits = { maxObjectBytes: 256 * 1024 };
    const snap = await new RemoteSource(server.url('big'), { cacheDir, limits }).fetch();
    expect((await snap.list()).map((e) => e.path)).toContain('assets/big.bin');
    expect(Buffer.from(await snap.readFile('templates/queue.yaml')).toString()).toBe(queueTemplate);
    const err = await rejection(snap.readFile('assets/big.bin'));
    expect(err.reason).toBe(Reason.FetchTooLarge);
    const other = await rejection(snap.readFile('assets/copy.bin'));
    expect(other.reason).toBe(Reason.FetchTooLarge);
    // Whichever git made the delta is known only to be over the limit; the base's size is known.
    const messages = [err.message, other.message];
    const limit = 'over the limit of 256 KiB per object (GITOPS_MAX_OBJECT_BYTES)';
    expect(messages.filter((m) => /^assets\/(big|copy)\.bin is 1 MiB, /.test(m) && m.endsWith(limit))).toHaveLength(1);
    expect(messages.filter((m) => /^assets\/(big|copy)\.bin is over /.test(m) && m.endsWith(limit))).toHaveLength(1);

    // A new process reading the disk cache knows the same; with a larger limit the same cache fetches it again.
    clearMemoryCache();
    const again = await new RemoteSource(server.url('big'), { cacheDir, limits }).fetch();
    expect((await rejection(again.readFile('assets/big.bin'))).reason).toBe(Reason.FetchTooLarge);
    clearMemoryCache();
    const roomy = await new RemoteSource(server.url('big'), { cacheDir }).fetch();
    expect(Buffer.from(await roomy.readFile('assets/big.bin')).equals(random)).toBe(true);
    expect(Buffer.from(await roomy.readFile('assets/copy.bin')).equals(copy)).toBe(true);
  });

  it('holds a local repository to the same per-object limit, loose or packed', async () => {
    const dir = join(root, 'big');
    const limits = { maxObjectBytes: 256 * 1024 };
    const loose = await new LocalSource(dir, limits).fetch();
    expect(Buffer.from(await loose.readFile('templates/queue.yaml')).toString()).toBe(queueTemplate);
    await expect(loose.readFile('assets/big.bin')).rejects.toMatchObject({
      reason: Reason.FetchTooLarge,
      message: 'assets/big.bin is over the limit of 256 KiB per object (GITOPS_MAX_OBJECT_BYTES)',
    });
    git(genv, dir, ['gc', '-q']);
    const packed = await new LocalSource(dir, limits).fetch();
    await expect(packed.readFile('assets/big.bin')).rejects.toMatchObject({
      reason: Reason.FetchTooLarge,
      message: 'assets/big.bin is 1 MiB, over the limit of 256 KiB per object (GITOPS_MAX_OBJECT_BYTES)',
    });
  });

  it('refuses a response over the limit while it arrives', async () => {
    clearMemoryCache();
    const source = new RemoteSource(server.url('big'), { limits: { maxResponseBytes: 64 * 1024 } });
    const err = await rejection(source.fetch());
    expect(err.reason).toBe(Reason.FetchTooLarge);
    expect(err.message).toContain('git-upload-pack is over the limit of 64 KiB (GITOPS_MAX_RESPONSE_BYTES)');
  });

  it('refuses a fetch whose objects take more memory than the fetch limit', async () => {
    clearMemoryCache();
    const source = new RemoteSource(server.url('big'), { limits: { maxFetchBytes: 64 * 1024 } });
    const err = await rejection(source.fetch());
    expect(err.reason).toBe(Reason.FetchTooLarge);
    expect(err.message).toBe(
      `fetching ${server.url('big')}: the objects of this fetch take more memory, over the limit of 64 KiB (GITOPS_MAX_FETCH_BYTES)`,
    );
  });

  it('checks declared sizes before inflating: an entry that inflates past its size, a huge declared blob', async () => {
    const limits = sourceLimits({ maxObjectBytes: 1024 * 1024 });
    const { deflateSync } = await import('node:zlib');
    // Declares 10 bytes, inflates to 100,000: inflating stops at the declared size.
    await expect(readPack(handPack([[3, 10, deflateSync(Buffer.alloc(100_000))]]), limits)).rejects.toThrow(
      /inflates past its declared 10 bytes/,
    );
    // Declares 1 GiB, holds 10 bytes: never allocated, refused as corrupt once the stream ends.
    await expect(readPack(handPack([[3, 1024 ** 3, deflateSync(Buffer.alloc(10))]]), limits)).rejects.toThrow(
      PackError,
    );
    // A tree over the object limit cannot be skipped (the listing needs it): FetchTooLarge before inflating.
    await expect(
      readPack(handPack([[2, 2 * 1024 * 1024, deflateSync(Buffer.alloc(10))]]), limits),
    ).rejects.toMatchObject({
      reason: Reason.FetchTooLarge,
      message: 'a tree in the pack is 2 MiB, over the limit of 1 MiB (GITOPS_MAX_OBJECT_BYTES)',
    });
    // Entries declaring more than the pack may inflate to: refused before the one that crosses it is decoded.
    await expect(
      readPack(
        handPack([
          [3, 600_000, deflateSync(Buffer.alloc(600_000))],
          [3, 600_000, deflateSync(Buffer.alloc(600_000, 1))],
        ]),
        sourceLimits({ maxInflateBytes: 1_000_000 }),
      ),
    ).rejects.toMatchObject({
      reason: Reason.FetchTooLarge,
      message: "the pack's entries declare more bytes than the limit of 976.6 KiB (GITOPS_MAX_INFLATE_BYTES)",
    });
    // More objects than the limit: refused from the header.
    await expect(
      readPack(handPack([[3, 1, deflateSync(Buffer.from('a'))]]), sourceLimits({ maxObjects: 0 })),
    ).rejects.toMatchObject({ reason: Reason.FetchTooLarge });
  });

  it('reads each limit from the environment and names a bad value', () => {
    expect(sourceLimits({}, { GITOPS_MAX_OBJECT_BYTES: '1000' }).maxObjectBytes).toBe(1000);
    expect(sourceLimits({}, { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256' })).toEqual({
      maxObjectBytes: 32 * 1024 * 1024,
      maxFetchBytes: 32 * 1024 * 1024,
      maxResponseBytes: 32 * 1024 * 1024,
      maxObjects: 102_400,
      maxInflateBytes: 2 * 1024 ** 3,
    });
    expect(() => sourceLimits({}, { GITOPS_MAX_RESPONSE_BYTES: '64MB' })).toThrow(
      /GITOPS_MAX_RESPONSE_BYTES must be a positive whole number of bytes/,
    );
  });
});

describe('the git token', () => {
  it('is sent to the configured origin, also after a redirect within it', async () => {
    clearMemoryCache();
    authServer.injectFault({
      on: 'info-refs',
      times: 2,
      fault: { kind: 'redirect', location: `${authServer.url('private')}/info/refs?service=git-upload-pack` },
    });
    const from = authServer.requests.length;
    const snap = await new RemoteSource(authServer.url('moved'), { token: async () => TOKEN }).fetch();
    expect(snap.commit.sha).toBe(gitText(genv, work, ['rev-parse', 'HEAD']));
    const paths = authServer.requests.slice(from).map((r) => `${r.status} ${r.path}`);
    expect(paths).toContain('302 /moved.git/info/refs?service=git-upload-pack');
    expect(paths).toContain('200 /private.git/git-upload-pack');
    const answered = authServer.requests.slice(from).filter((r) => r.status === 200);
    expect(answered.every((r) => r.authorization)).toBe(true);
  });

  it('is never sent to another origin a redirect points to (another port on loopback counts)', async () => {
    clearMemoryCache();
    server.injectFault({
      on: 'info-refs',
      times: 5,
      fault: { kind: 'redirect', location: `${authServer.url('private')}/info/refs?service=git-upload-pack` },
    });
    const from = authServer.requests.length;
    let asked = 0;
    const err = await rejection(
      new RemoteSource(server.url('one'), {
        token: async () => {
          asked += 1;
          return TOKEN;
        },
      }).fetch(),
    );
    server.clearFaults();
    expect(err.reason).toBe(Reason.AuthFailed);
    expect(err.message).toBe(
      `${server.url('one')} redirected to ${new URL(authServer.url('x')).origin}, which asks for credentials; ` +
        `the git token is sent only to ${new URL(server.url('x')).origin}`,
    );
    expect(asked).toBe(0);
    const seen = authServer.requests.slice(from);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => !r.authorization && r.status === 401)).toBe(true);
  });

  it('is refused over plain http to a host that is not loopback, before any request', async () => {
    let asked = 0;
    const source = new RemoteSource('http://git.example.com/org/infra.git', {
      token: async () => {
        asked += 1;
        return TOKEN;
      },
      timeoutMs: 600_000,
    });
    const err = await rejection(source.fetch());
    expect(err.reason).toBe(Reason.AuthFailed);
    expect(err.message).toBe(
      'the git token is not sent over plain http to git.example.com; use the https URL of http://git.example.com/org/infra.git',
    );
    expect(err.message).not.toContain(TOKEN);
    expect(asked).toBe(1);
  });
});

describe('repository locations', () => {
  it('gives SSH URLs a clear message with the https URL to use, in the CLI and the Source port', async () => {
    const run = await gitops(['render', 'git@github.com:acme/infra.git']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'git@github.com:acme/infra.git is an SSH URL, which lambda-gitops does not fetch: use the https URL ' +
        '(https://github.com/acme/infra.git) and put a token in GITOPS_GIT_TOKEN',
    );
    expect(() => openSource('ssh://git@gitlab.example.com:2222/group/infra.git')).toThrow(
      /use the https URL \(https:\/\/gitlab\.example\.com\/group\/infra\.git\)/,
    );
    // Local paths stay local paths, even with a colon after a slash.
    expect(openSource('./deploy:v2')).toBeInstanceOf(LocalSource);
  });

  it('reads a linked worktree at its own branch, and a subdirectory as its repository', async () => {
    const repo = createWorkRepo(genv, join(root, 'with-worktree'));
    const mainSha = commitFiles(genv, repo, oneStack, 'main');
    const tree = join(root, 'linked');
    git(genv, repo, ['worktree', 'add', '-q', '-b', 'feature', tree]);
    const featureSha = commitFiles(genv, tree, { 'deploy/second.yaml': oneStack['deploy/queue.yaml'] }, 'feature');

    const linked = await openSource(tree).fetch();
    expect(linked).toMatchObject({ repo: tree, branch: 'feature', commit: { sha: featureSha } });
    expect((await linked.list()).map((e) => e.path)).toContain('deploy/second.yaml');
    expect((await openSource(tree).fetch({ ref: 'main' })).commit.sha).toBe(mainSha);

    const sub = await openSource(join(repo, 'deploy')).fetch();
    expect(sub).toMatchObject({ repo, branch: 'main', commit: { sha: mainSha } });
    expect((await sub.list()).map((e) => e.path)).toEqual(['deploy/queue.yaml', 'templates/queue.yaml']);
    // A path that does not exist is not read as the repository above it.
    await expect(openSource(join(repo, 'no-such-folder')).fetch()).rejects.toMatchObject({
      reason: Reason.RepositoryNotFound,
      message: `${join(repo, 'no-such-folder')} does not exist`,
    });

    const fromTree = await gitops(['render', tree, '--output', 'json']);
    expect(fromTree.code, fromTree.stderr).toBe(0);
    expect((JSON.parse(fromTree.stdout) as { stack: string }[]).map((s) => s.stack).sort()).toEqual([
      'queue',
      'second',
    ]);
    const fromSub = await gitops(['render', join(repo, 'templates'), '--output', 'json']);
    expect(fromSub.code, fromSub.stderr).toBe(0);
    expect((JSON.parse(fromSub.stdout) as { stack: string }[]).map((s) => s.stack)).toEqual(['queue']);
  });
});
