import { describe, expect, it } from 'vitest';
import { GitOpsError, Reason } from '../../shared/errors.ts';
import { consoleLogger } from '../../shared/log.ts';
import { DeliveryDedupe } from '../../shared/webhook/dedupe.ts';
import { handleWebhook, type WebhookDeps } from '../../shared/webhook/handle.ts';
import type { Push, WebhookRequest } from '../../shared/webhook/types.ts';
import { delivery, fixture, hmac, SECRET } from './deliveries.ts';

/** Everything one call left behind: the answer, the pushes handed on, and every log line. */
async function call(
  req: WebhookRequest & { method?: string },
  overrides: Partial<WebhookDeps> = {},
  dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } }),
) {
  const pushes: Push[] = [];
  const logs: string[] = [];
  const response = await handleWebhook(req, {
    secret: async () => SECRET,
    dedupe,
    onPush: async (push) => {
      pushes.push(push);
    },
    logger: consoleLogger({ level: 'debug', json: true, stream: { write: (l: string) => logs.push(l) } }),
    ...overrides,
  });
  return { ...response, json: JSON.parse(response.body) as Record<string, string>, pushes, logs };
}

const githubPush = fixture('github-push');
const gitlabPush = fixture('gitlab-push');
const bitbucketPush = fixture('bitbucket-push');

describe('handleWebhook accepts a signed push from every provider', () => {
  it.each([
    [
      'github',
      delivery('github', 'push', githubPush),
      {
        repoUrl: 'https://github.com/acme/infra.git',
        repoName: 'acme/infra',
        before: '6dcb09b5b57875f334f61aebed695e2e4193db5e',
        after: '7638417db6d59f3c431d3e1f261cc637155684cd',
        commit: {
          sha: '7638417db6d59f3c431d3e1f261cc637155684cd',
          author: 'Mona Octocat',
          message: 'Raise the work queue visibility timeout to 60 s',
          url: 'https://github.com/acme/infra/commit/7638417db6d59f3c431d3e1f261cc637155684cd',
          committedAt: '2024-05-01T12:00:00+02:00',
        },
      },
    ],
    [
      'gitlab',
      delivery('gitlab', 'Push Hook', gitlabPush),
      {
        repoUrl: 'https://gitlab.example.com/acme/infra.git',
        repoName: 'acme/infra',
        before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
        after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        commit: {
          sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
          author: 'GitLab dev user',
          message: 'Raise the work queue visibility timeout to 60 s\n',
          url: 'https://gitlab.example.com/acme/infra/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
          committedAt: '2024-05-01T11:00:00+02:00',
        },
      },
    ],
    [
      'bitbucket',
      delivery('bitbucket', 'repo:push', bitbucketPush),
      {
        repoUrl: 'https://bitbucket.org/acme/infra.git',
        repoName: 'acme/infra',
        before: '1e65c05c1d5171631d92438a13901ca7dae9618c',
        after: '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
        commit: {
          sha: '709d658dc5b6d6afcd46049c2f332ee3f515a67d',
          author: 'Emma Example',
          message: 'Raise the work queue visibility timeout to 60 s\n',
          url: 'https://bitbucket.org/acme/infra/commits/709d658dc5b6d6afcd46049c2f332ee3f515a67d',
          committedAt: '2024-05-01T09:00:00+00:00',
        },
      },
    ],
  ] as const)('%s', async (provider, req, expected) => {
    // Act
    const result = await call(req);

    // Assess
    expect(result.status).toBe(202);
    expect(result.json).toEqual({ accepted: `${provider}-delivery-1` });
    expect(result.pushes).toEqual([
      { kind: 'push', provider, deliveryId: `${provider}-delivery-1`, branch: 'main', ...expected },
    ]);
  });
});

describe('handleWebhook refuses or ignores everything else', () => {
  const tooBig = Buffer.alloc(2048, 'a');
  const cases: ReadonlyArray<{
    name: string;
    req: WebhookRequest & { method?: string };
    deps?: Partial<WebhookDeps>;
    status: number;
    error?: string;
    ignored?: RegExp;
  }> = [
    {
      name: 'GET',
      req: { ...delivery('github', 'push', githubPush), method: 'GET' },
      status: 405,
      error: 'MethodNotAllowed',
    },
    {
      name: 'no signature header at all',
      req: { method: 'POST', headers: { 'content-type': 'application/json' }, body: githubPush },
      status: 401,
      error: Reason.SignatureMissing,
    },
    {
      name: 'github without x-hub-signature-256',
      req: delivery('github', 'push', githubPush, { 'x-hub-signature-256': undefined }),
      status: 401,
      error: Reason.SignatureMissing,
    },
    {
      name: 'github signed with another secret',
      req: delivery('github', 'push', githubPush, { 'x-hub-signature-256': hmac(githubPush, 'another-secret') }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'github truncated signature',
      req: delivery('github', 'push', githubPush, { 'x-hub-signature-256': hmac(githubPush).slice(0, 40) }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'github body changed after signing',
      req: {
        ...delivery('github', 'push', githubPush),
        body: Buffer.from(githubPush.toString().replace('main', 'prod')),
      },
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'github sha1 signature only',
      req: delivery('github', 'push', githubPush, {
        'x-hub-signature-256': undefined,
        'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567',
      }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'github sha1 prefix in the sha256 header',
      req: delivery('github', 'push', githubPush, {
        'x-hub-signature-256': `sha1=${hmac(githubPush).slice(7)}`,
      }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'gitlab without token',
      req: delivery('gitlab', 'Push Hook', gitlabPush, { 'x-gitlab-token': undefined }),
      status: 401,
      error: Reason.SignatureMissing,
    },
    {
      name: 'gitlab wrong token',
      req: delivery('gitlab', 'Push Hook', gitlabPush, { 'x-gitlab-token': 'not-the-secret' }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'gitlab token that is a prefix of the secret',
      req: delivery('gitlab', 'Push Hook', gitlabPush, { 'x-gitlab-token': SECRET.slice(0, 10) }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'bitbucket without signature',
      req: delivery('bitbucket', 'repo:push', bitbucketPush, { 'x-hub-signature': undefined }),
      status: 401,
      error: Reason.SignatureMissing,
    },
    {
      name: 'bitbucket wrong signature',
      req: delivery('bitbucket', 'repo:push', bitbucketPush, { 'x-hub-signature': hmac('other') }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'bitbucket sha1 signature',
      req: delivery('bitbucket', 'repo:push', bitbucketPush, { 'x-hub-signature': 'sha1=abc' }),
      status: 401,
      error: Reason.SignatureInvalid,
    },
    {
      name: 'no secret configured',
      req: delivery('github', 'push', githubPush),
      deps: { secret: async () => undefined },
      status: 500,
      error: Reason.SecretMissing,
    },
    {
      name: 'non-JSON body with a valid signature',
      req: delivery('github', 'push', Buffer.from('<xml>not json</xml>')),
      status: 400,
      error: Reason.PayloadInvalid,
    },
    {
      name: 'JSON without the ref',
      req: delivery('github', 'push', Buffer.from(JSON.stringify({ after: 'a'.repeat(40) }))),
      status: 400,
      error: Reason.PayloadInvalid,
    },
    {
      name: 'JSON array body',
      req: delivery('gitlab', 'Push Hook', Buffer.from('[1,2,3]')),
      status: 400,
      error: Reason.PayloadInvalid,
    },
    {
      name: 'bitbucket push without changes',
      req: delivery(
        'bitbucket',
        'repo:push',
        Buffer.from(JSON.stringify({ repository: { full_name: 'a/b' }, push: {} })),
      ),
      status: 400,
      error: Reason.PayloadInvalid,
    },
    {
      name: 'oversized body',
      req: delivery('github', 'push', tooBig),
      deps: { maxBytes: 1024 },
      status: 413,
      error: Reason.PayloadTooLarge,
    },
    {
      name: 'oversized Content-Length with a small body',
      req: delivery('github', 'push', githubPush, { 'content-length': String(10 * 1024 * 1024) }),
      status: 413,
      error: Reason.PayloadTooLarge,
    },
    { name: 'github ping', req: delivery('github', 'ping', fixture('github-ping')), status: 200, ignored: /^ping$/ },
    {
      name: 'github unknown event',
      req: delivery('github', 'issues', githubPush),
      status: 200,
      ignored: /unsupported event issues/,
    },
    {
      name: 'github tag push',
      req: delivery('github', 'push', fixture('github-tag-push')),
      status: 200,
      ignored: /^tag push v1\.2\.0$/,
    },
    {
      name: 'github branch deletion',
      req: delivery('github', 'push', fixture('github-branch-delete')),
      status: 200,
      ignored: /^branch deleted feature\/old-queue$/,
    },
    {
      name: 'gitlab tag push',
      req: delivery('gitlab', 'Tag Push Hook', fixture('gitlab-tag-push')),
      status: 200,
      ignored: /^tag push$/,
    },
    {
      name: 'gitlab branch deletion',
      req: delivery('gitlab', 'Push Hook', fixture('gitlab-branch-delete')),
      status: 200,
      ignored: /^branch deleted feature\/old-queue$/,
    },
    {
      name: 'gitlab merge request event',
      req: delivery('gitlab', 'Merge Request Hook', gitlabPush),
      status: 200,
      ignored: /unsupported event Merge Request Hook/,
    },
    {
      name: 'bitbucket tag push',
      req: delivery('bitbucket', 'repo:push', fixture('bitbucket-tag-push')),
      status: 200,
      ignored: /^tag push$/,
    },
    {
      name: 'bitbucket branch deletion',
      req: delivery('bitbucket', 'repo:push', fixture('bitbucket-branch-delete')),
      status: 200,
      ignored: /^branch deleted feature\/old-queue$/,
    },
    {
      name: 'bitbucket pull request event',
      req: delivery('bitbucket', 'pullrequest:created', bitbucketPush),
      status: 200,
      ignored: /unsupported event pullrequest:created/,
    },
  ];

  it.each(cases)('$name → $status', async ({ req, deps, status, error, ignored }) => {
    // Act
    const result = await call(req, deps);

    // Assess
    expect(result.status).toBe(status);
    if (error) expect(result.json['error']).toBe(error);
    if (ignored) expect(result.json['ignored']).toMatch(ignored);
    expect(result.pushes).toEqual([]);
    const everything = result.body + result.logs.join('');
    expect(everything).not.toContain(SECRET);
    expect(result.body.length).toBeLessThan(300);
    if (req.body.length > 0) expect(result.body).not.toContain(req.body.toString().slice(0, 30));
  });
});

describe('handleWebhook, more behaviour', () => {
  it('accepts a replayed delivery id only once', async () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const req = delivery('github', 'push', githubPush);

    // Act
    const first = await call(req, {}, dedupe);
    const second = await call(req, {}, dedupe);

    // Assess
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ duplicate: 'github-delivery-1' });
    expect(second.pushes).toEqual([]);
  });

  it('lets a redelivery through when the first hand-off failed', async () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const req = delivery('gitlab', 'Push Hook', gitlabPush);
    const failing = async () => {
      throw new GitOpsError(Reason.PublishFailed, 'queue unavailable', { retryable: true });
    };

    // Act
    const first = await call(req, { onPush: failing }, dedupe);
    const second = await call(req, {}, dedupe);

    // Assess
    expect(first.status).toBe(503);
    expect(first.body).not.toContain('queue unavailable');
    expect(second.status).toBe(202);
    expect(second.pushes).toHaveLength(1);
  });

  it('answers a signed body replayed under a new delivery id as a duplicate, and hands it on once', async () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const req = delivery('github', 'push', githubPush);
    const replayed = { ...req, headers: { ...req.headers, 'x-github-delivery': 'a-new-id-chosen-by-the-replayer' } };

    // Act
    const first = await call(req, {}, dedupe);
    const second = await call(replayed, {}, dedupe);

    // Assess
    expect(first.status).toBe(202);
    expect([second.status, second.json]).toEqual([200, { duplicate: 'a-new-id-chosen-by-the-replayer' }]);
    expect(second.pushes).toEqual([]);
    expect(second.logs.join('\n')).toContain('a replay under a new id');
  });

  it('answers 503 and hands nothing on when the delivery cannot be recorded', async () => {
    // Prepare
    const unavailable = {
      claim: async () => {
        throw new GitOpsError(Reason.StateUnavailable, 'bucket unavailable', { retryable: true });
      },
      release: async () => undefined,
    };

    // Act
    const result = await call(delivery('github', 'push', githubPush), { dedupe: unavailable });

    // Assess
    expect([result.status, result.json['error']]).toEqual([503, 'Unavailable']);
    expect(result.pushes).toEqual([]);
  });

  it('answers 500 with a generic message when the hand-off breaks unexpectedly', async () => {
    // Act
    const result = await call(delivery('github', 'push', githubPush), {
      onPush: async () => {
        throw new TypeError(`cannot read property of undefined near ${SECRET}`);
      },
    });

    // Assess
    expect(result.status).toBe(500);
    expect(result.json).toEqual({ error: Reason.Internal, message: 'internal error' });
    expect(result.logs.join('')).toContain('cannot read property');
    expect(result.logs.join('')).not.toContain(SECRET);
  });

  it('answers 500, not a crash, when reading the secret fails', async () => {
    // Act
    const result = await call(delivery('github', 'push', githubPush), {
      secret: async () => {
        throw new Error('SSM throttled');
      },
    });

    // Assess
    expect(result.status).toBe(500);
    expect(result.json['error']).toBe(Reason.Internal);
  });

  it('accepts GitHub form-encoded deliveries, whose signature covers the form body', async () => {
    // Prepare
    const form = Buffer.from(new URLSearchParams({ payload: githubPush.toString() }).toString());
    const req = delivery('github', 'push', form, { 'content-type': 'application/x-www-form-urlencoded' });

    // Act
    const result = await call(req);

    // Assess
    expect(result.status).toBe(202);
    expect(result.pushes[0]?.after).toBe('7638417db6d59f3c431d3e1f261cc637155684cd');
  });

  it('accepts the minimal GitHub body the dev runtime documents, filling the rest in', async () => {
    // Prepare
    const body = Buffer.from(
      JSON.stringify({ ref: 'refs/heads/main', after: 'b'.repeat(40), repository: { full_name: 'example/demo' } }),
    );

    // Act
    const result = await call(delivery('github', 'push', body));

    // Assess
    expect(result.status).toBe(202);
    expect(result.pushes[0]).toMatchObject({
      repoUrl: 'https://github.com/example/demo.git',
      before: '0'.repeat(40),
      commit: { sha: 'b'.repeat(40) },
    });
  });

  it('strips credentials from a clone URL in the payload', async () => {
    // Prepare
    const payload = JSON.parse(githubPush.toString()) as { repository: { clone_url: string } };
    payload.repository.clone_url = 'https://x-access-token:ghs_abcdefghij0123456789@github.com/acme/infra.git';
    const body = Buffer.from(JSON.stringify(payload));

    // Act
    const result = await call(delivery('github', 'push', body));

    // Assess
    expect(result.pushes[0]?.repoUrl).toBe('https://github.com/acme/infra.git');
  });

  it('derives a stable delivery id from the body when a Bitbucket delivery has no request id', async () => {
    // Prepare
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const req = delivery('bitbucket', 'repo:push', bitbucketPush, { 'x-request-uuid': undefined });

    // Act
    const first = await call(req, {}, dedupe);
    const second = await call(req, {}, dedupe);

    // Assess
    expect(first.status).toBe(202);
    expect(first.json['accepted']).toMatch(/^bitbucket-[0-9a-f]{32}$/);
    expect(second.json).toEqual({ duplicate: first.json['accepted'] });
  });
});
