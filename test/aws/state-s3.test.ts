import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3StateStore } from '../../shared/adapters/aws/state-s3.ts';
import { StateError } from '../../shared/errors.ts';
import { history, rendered, SHA, stackState } from './fixtures.ts';
import { type S3TestServer, startS3 } from './s3-server.ts';

let s3: S3TestServer;
let n = 0;
/** Each test gets its own prefix in the one bucket, so tests do not see each other's objects. */
const store = () => new S3StateStore({ bucket: s3.bucket, prefix: `t${++n}`, client: s3.client(), timeoutMs: 5_000 });

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

describe('S3StateStore against s3rver', () => {
  it('stores a stack under state/<env>/<stack>.json and reads it back with its ETag as version', async () => {
    const st = store();
    const version = await st.putStack(stackState());
    const got = await st.getStack('prod/web');
    expect(got?.state).toEqual(stackState());
    expect(got?.version).toBe(version);
    expect(await keys(`t${n}/`)).toEqual([`t${n}/state/prod/web.json`]);
    expect(await st.getStack('prod/other')).toBeUndefined();
  });

  it.each([
    { name: 'create-only on an existing stack', first: true, ifVersion: null as string | null, stale: false },
    { name: 'a stale version', first: true, ifVersion: 'stale', stale: true },
    {
      name: 'a version on a missing stack',
      first: false,
      ifVersion: '"0123456789abcdef0123456789abcdef"',
      stale: false,
    },
  ])('refuses a write with $name (StateConflict) and keeps the stored state', async ({ first, ifVersion, stale }) => {
    const st = store();
    const v1 = first ? await st.putStack(stackState({ sync: 'Synced' })) : undefined;
    if (stale && v1) await st.putStack(stackState({ sync: 'Progressing' }), { ifVersion: v1 });
    const attempt = st.putStack(stackState({ sync: 'Failed' }), { ifVersion: stale ? v1 : ifVersion });
    await expect(attempt).rejects.toMatchObject({ name: 'StateError', reason: 'StateConflict' });
    const after = await st.getStack('prod/web');
    expect(after?.state.sync).toBe(first ? (stale ? 'Progressing' : 'Synced') : undefined);
  });

  it('writes with the current version, and with null when there is no state yet', async () => {
    const st = store();
    const v1 = await st.putStack(stackState({ sync: 'Pending' }), { ifVersion: null });
    const v2 = await st.putStack(stackState({ sync: 'Synced' }), { ifVersion: v1 });
    expect(v2).not.toBe(v1);
    expect((await st.getStack('prod/web'))?.state.sync).toBe('Synced');
  });

  it('lets exactly one of two writers with the same version win', async () => {
    const st = store();
    const v1 = await st.putStack(stackState());
    const results = await Promise.allSettled([
      st.putStack(stackState({ sync: 'Failed' }), { ifVersion: v1 }),
      st.putStack(stackState({ sync: 'Progressing' }), { ifVersion: v1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(StateError);
    expect(lost.reason.reason).toBe('StateConflict');
  });

  it('lists every stack and deletes one', async () => {
    const st = store();
    await st.putStack(stackState());
    await st.putStack(stackState({ key: 'dev/web', environment: 'dev', stackName: 'web-dev' }));
    expect((await st.listStacks()).map((s) => s.key).sort()).toEqual(['dev/web', 'prod/web']);
    await st.deleteStack('dev/web');
    expect((await st.listStacks()).map((s) => s.key)).toEqual(['prod/web']);
  });

  describe('listing through the index (index/states/<env>/<shards>-<n>.json, a cache checked against ETags)', () => {
    const services = ['api', 'web', 'worker', 'queue', 'cron'];
    const seed = async (st: S3StateStore) => {
      for (const s of services) {
        await st.putStack(stackState({ key: `dev/${s}`, stack: s, environment: 'dev', stackName: `${s}-dev` }));
      }
    };
    /** GETs of state objects and of the index, LISTs, and PUTs the proxy saw from `from` on, for prefix `t<id>`. */
    const requestsSince = (from: number, id: number) => {
      const seen = s3.requests.slice(from).filter((r) => r.includes(`/t${id}/`) || r.includes(`prefix=t${id}`));
      return {
        stateGets: seen.filter((r) => r.startsWith('GET') && r.includes('/state/')).length,
        indexGets: seen.filter((r) => r.startsWith('GET') && r.includes('/index/states/')).length,
        lists: seen.filter((r) => r.startsWith('GET') && r.includes('list-type=2')).length,
        puts: seen.filter((r) => r.startsWith('PUT')).length,
      };
    };

    it('reads an unchanged installation with one LIST and one GET, and then only the stack that changed', async () => {
      const st = store();
      const id = n;
      await seed(st);
      let from = s3.requests.length;
      expect((await st.listStacks()).map((s) => s.key)).toEqual(services.map((s) => `dev/${s}`).sort());
      expect(requestsSince(from, id)).toEqual({ stateGets: 5, indexGets: 1, lists: 1, puts: 1 });

      // A second Lambda container, the index written by the first.
      const other = new S3StateStore({ bucket: s3.bucket, prefix: `t${id}`, client: s3.client() });
      from = s3.requests.length;
      expect(await other.listStacks()).toHaveLength(5);
      expect(requestsSince(from, id)).toEqual({ stateGets: 0, indexGets: 1, lists: 1, puts: 0 });

      await st.putStack(
        stackState({ key: 'dev/web', stack: 'web', environment: 'dev', stackName: 'web-dev', sync: 'OutOfSync' }),
      );
      from = s3.requests.length;
      const listed = await other.listStacks();
      expect(listed.find((s) => s.key === 'dev/web')?.sync).toBe('OutOfSync');
      expect(requestsSince(from, id)).toEqual({ stateGets: 1, indexGets: 1, lists: 1, puts: 1 });
    });

    it('shards the index per environment: an unchanged poll reads one shard each, a change rewrites only its own', async () => {
      const st = store();
      const id = n;
      await seed(st);
      for (const s of services) {
        await st.putStack(stackState({ key: `prod/${s}`, stack: s, environment: 'prod', stackName: `${s}-prod` }));
      }
      await st.listStacks();
      let from = s3.requests.length;
      expect(await st.listStacks()).toHaveLength(10);
      expect(requestsSince(from, id)).toEqual({ stateGets: 0, indexGets: 2, lists: 1, puts: 0 });

      await st.putStack(
        stackState({ key: 'prod/api', stack: 'api', environment: 'prod', stackName: 'api-prod', sync: 'Failed' }),
      );
      from = s3.requests.length;
      expect((await st.listStacks()).find((s) => s.key === 'prod/api')?.sync).toBe('Failed');
      const puts = s3.requests.slice(from).filter((r) => r.startsWith('PUT'));
      expect(puts).toEqual([expect.stringContaining(`/t${id}/index/states/prod/1-0.json`)]);
    });

    it('drops a deleted stack and never serves what the index holds for it', async () => {
      const st = store();
      await seed(st);
      await st.listStacks();
      await st.deleteStack('dev/cron');
      expect((await st.listStacks()).map((s) => s.key)).not.toContain('dev/cron');
      expect(await st.listStacks()).toHaveLength(4);
    });

    it('lists right when the index is not JSON, of another version, or holds states that are no longer current', async () => {
      const st = store();
      const id = n;
      await seed(st);
      const index = `t${id}/index/states/dev/1-0.json`;
      const put = (body: string) =>
        s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: index, Body: body }));
      await put('{ not json');
      expect(await st.listStacks()).toHaveLength(5);
      await put(JSON.stringify({ version: 99, entries: {} }));
      expect(await st.listStacks()).toHaveLength(5);
      // An index whose entry for dev/api carries an ETag the object does not have: the object is read instead.
      const forged = {
        version: 1,
        entries: {
          [`t${id}/state/dev/api.json`]: { etag: '"0123456789abcdef0123456789abcdef"', state: stackState() },
        },
      };
      await put(JSON.stringify(forged));
      const listed = await st.listStacks();
      expect(listed.map((s) => s.key)).toEqual(services.map((s) => `dev/${s}`).sort());
      expect(listed.find((s) => s.key === 'dev/api')?.stackName).toBe('api-dev');
    });
  });

  it('stores a rendered artifact once per hash and revision under rendered/<sha256>/<revision>.json', async () => {
    const st = store();
    const hash = 'c'.repeat(64);
    const artifact = { hash, rendered: rendered({ hash }) };
    // A revert renders the same content again at another commit: it gets its own artifact.
    const revert = '4'.repeat(40);
    const reverted = { hash, rendered: rendered({ hash, revision: revert, commit: { sha: revert } }) };
    await st.putRendered(artifact);
    await st.putRendered(artifact);
    await st.putRendered(reverted);
    expect(s3.requests.filter((r) => r.includes(`t${n}/rendered/`) && r.startsWith('PUT'))).toHaveLength(3);
    expect(await keys(`t${n}/`)).toEqual(
      [`t${n}/rendered/${hash}/${SHA}.json`, `t${n}/rendered/${hash}/${revert}.json`].sort(),
    );
    expect(await st.getRendered(hash, SHA)).toEqual(artifact);
    expect(await st.getRendered(hash, revert)).toEqual(reverted);
    expect(await st.getRendered(hash, '5'.repeat(40))).toBeUndefined();
    expect(await st.getRendered('d'.repeat(64), SHA)).toBeUndefined();
    await expect(st.getRendered('../state/prod/web')).rejects.toBeInstanceOf(StateError);
    await expect(st.getRendered(hash, '../../state/prod/web')).rejects.toBeInstanceOf(StateError);
  });

  it('reads an artifact stored under rendered/<sha256>.json before revisions were kept, for its own revision only', async () => {
    const st = store();
    const hash = 'e'.repeat(64);
    const artifact = { hash, rendered: rendered({ hash }) };
    await s3
      .client()
      .send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: `t${n}/rendered/${hash}.json`, Body: JSON.stringify(artifact) }),
      );
    expect(await st.getRendered(hash)).toEqual(artifact);
    expect(await st.getRendered(hash, SHA)).toEqual(artifact);
    expect(await st.getRendered(hash, '4'.repeat(40))).toBeUndefined();
  });

  it('appends history under history/<env>/<stack>/<ISO time>-<id>.json and lists the newest first', async () => {
    const st = store();
    await st.appendHistory(history('2025-01-01T10:00:00.000Z', 'a'));
    await st.appendHistory(history('2025-01-03T10:00:00.000Z', 'c'));
    await st.appendHistory(history('2025-01-02T10:00:00.000Z', 'b'));
    expect((await st.listHistory('prod/web')).map((h) => h.id)).toEqual(['c', 'b', 'a']);
    expect((await st.listHistory('prod/web', 2)).map((h) => h.id)).toEqual(['c', 'b']);
    expect(await keys(`t${n}/history/`)).toContain(`t${n}/history/prod/web/2025-01-01T10:00:00.000Z-a.json`);
    expect(await st.listHistory('dev/web')).toEqual([]);
  });
});

describe('S3StateStore when S3 cannot be reached', () => {
  it('reports a refused connection as StateUnavailable, retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const st = new S3StateStore({ bucket: 'b', client });
    await expect(st.getStack('prod/web')).rejects.toMatchObject({ reason: 'StateUnavailable', retryable: true });
  });

  it('gives up on a server that never answers after timeoutMs', async () => {
    const silent = http.createServer(() => {
      // never answers
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const st = new S3StateStore({ bucket: 'b', client, timeoutMs: 200 });
    // The server never answers: only the store's own 200 ms timeout can end this call (else the test times out).
    await expect(st.putStack(stackState())).rejects.toMatchObject({ reason: 'StateUnavailable', retryable: true });
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
