import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3DeliveryLedger } from '../../shared/adapters/aws/delivery-ledger-s3.ts';
import { bodyDigest } from '../../shared/webhook/dedupe.ts';
import { type S3TestServer, startS3 } from './s3-server.ts';

let s3: S3TestServer;
let n = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
});

function ledger(ttlMs = 60_000) {
  let now = Date.parse('2026-11-29T10:00:00Z');
  const prefix = `l${++n}/`;
  const store = new S3DeliveryLedger({
    bucket: s3.bucket,
    prefix,
    client: s3.client(),
    clock: { now: () => new Date(now) },
    ttlMs,
  });
  const advance = (ms: number) => {
    now += ms;
  };
  return { store, prefix, advance };
}

const body = Buffer.from('{"ref":"refs/heads/main"}');
const keys = (id: string, bytes = body) => ({ id: `github:${id}`, digest: bodyDigest(bytes) });

describe('S3DeliveryLedger against s3rver', () => {
  it('records a delivery by id and by body digest, once, under webhook/deliveries/', async () => {
    const { store, prefix } = ledger();
    expect(await store.claim(keys('d-1'))).toBe('new');
    expect(await store.claim(keys('d-1'))).toBe('duplicate-id');
    expect(await store.claim(keys('d-2'))).toBe('duplicate-body');
    expect(await store.claim(keys('d-3', Buffer.from('{"ref":"refs/heads/other"}')))).toBe('new');
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
    const names = (listed.Contents ?? []).map((o) => o.Key ?? '');
    // The ids (a header anyone can set) are hashed into the key; nothing of the body is stored.
    expect(names.every((k) => /^l\d+\/webhook\/deliveries\/(id|body)-[0-9a-f]{64}\.json$/.test(k))).toBe(true);
    expect(names).toHaveLength(5);
  });

  it('lets two concurrent replays of one body through exactly once', async () => {
    const { store } = ledger();
    const claims = await Promise.all(['a', 'b', 'c', 'd'].map((id) => store.claim(keys(id))));
    expect(claims.filter((c) => c === 'new')).toHaveLength(1);
  });

  it('takes over an expired record (expiry checked on read), and forgets a released one', async () => {
    const { store, prefix, advance } = ledger(1_000);
    expect(await store.claim(keys('d-1'))).toBe('new');
    advance(999);
    expect(await store.claim(keys('d-2'))).toBe('duplicate-body');
    advance(2);
    expect(await store.claim(keys('d-3'))).toBe('new');
    await store.release(keys('d-3'));
    expect(await store.claim(keys('d-3'))).toBe('new');
    // A damaged record is replaced, never trusted.
    const key = `${prefix}webhook/deliveries/body-${bodyDigest(Buffer.from('x'))}.json`;
    await s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'not json' }));
    expect(await store.claim(keys('d-10', Buffer.from('x')))).toBe('new');
    const stored = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    expect(JSON.parse((await stored.Body?.transformToString()) ?? '')).toHaveProperty('expiresAt');
  });
});
