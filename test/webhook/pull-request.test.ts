/**
 * Pull-request deliveries through the same endpoint code as pushes: verified the same way, parsed from the forges'
 * published example payloads (test/webhook/fixtures/SOURCES.md), handed to `onPullRequest`.
 */
import { describe, expect, it } from 'vitest';
import { consoleLogger } from '../../shared/log.ts';
import { DeliveryDedupe } from '../../shared/webhook/dedupe.ts';
import { handleWebhook, type WebhookDeps } from '../../shared/webhook/handle.ts';
import type { PullRequest } from '../../shared/webhook/pull-request.ts';
import type { WebhookRequest } from '../../shared/webhook/types.ts';
import { delivery, fixture, SECRET } from './deliveries.ts';

async function call(req: WebhookRequest & { method?: string }, overrides: Partial<WebhookDeps> = {}) {
  const prs: PullRequest[] = [];
  const pushes: unknown[] = [];
  const response = await handleWebhook(req, {
    secret: async () => SECRET,
    dedupe: new DeliveryDedupe({ clock: { now: () => new Date() } }),
    onPush: async (push) => {
      pushes.push(push);
    },
    onPullRequest: async (pr) => {
      prs.push(pr);
    },
    logger: consoleLogger({ level: 'error', json: true, stream: { write: () => {} } }),
    ...overrides,
  });
  return { status: response.status, json: JSON.parse(response.body) as Record<string, string>, prs, pushes };
}

/** The fixture with some fields changed, re-serialised (the delivery is signed over the new bytes). */
// biome-ignore lint/suspicious/noExplicitAny: the edits reach deep into the forges' payloads
function variant(name: string, edit: (payload: Record<string, any>) => void): Buffer {
  const payload = JSON.parse(fixture(name).toString('utf8'));
  edit(payload);
  return Buffer.from(JSON.stringify(payload));
}

describe('GitHub pull_request (octokit webhooks-examples)', () => {
  it.each(['opened', 'synchronize', 'reopened', 'ready_for_review'])(
    '%s asks for a preview of the head',
    async (action) => {
      const res = await call(delivery('github', 'pull_request', fixture(`github-pull-request-${action}`)));
      expect(res.status).toBe(202);
      expect(res.prs).toHaveLength(1);
      expect(res.prs[0]).toMatchObject({
        action: 'update',
        provider: 'github',
        repoName: 'Codertocat/Hello-World',
        repoUrl: 'https://github.com/Codertocat/Hello-World.git',
        number: 2,
        baseBranch: 'master',
        headBranch: 'changes',
        fromFork: false,
      });
      expect(res.prs[0]?.headSha).toMatch(/^[0-9a-f]{40}$/);
      expect(res.pushes).toEqual([]);
    },
  );

  it('synchronize carries the new head commit', async () => {
    const res = await call(delivery('github', 'pull_request', fixture('github-pull-request-synchronize')));
    expect(res.prs[0]?.headSha).toBe('ec26c3e57ca3a959ca5aad62de7213c562f8c821');
  });

  it('closed ends the preview', async () => {
    const res = await call(delivery('github', 'pull_request', fixture('github-pull-request-closed')));
    expect(res.status).toBe(202);
    expect(res.prs[0]?.action).toBe('close');
  });

  it('labeled is not about the code: ignored with 200, nothing handed on', async () => {
    const res = await call(delivery('github', 'pull_request', fixture('github-pull-request-labeled')));
    expect(res.status).toBe(200);
    expect(res.json.ignored).toBe('pull_request labeled');
    expect(res.prs).toEqual([]);
  });

  it('a head in another repository is a fork', async () => {
    const body = variant('github-pull-request-synchronize', (p) => {
      p.pull_request.head.repo.full_name = 'mallory/Hello-World';
    });
    const res = await call(delivery('github', 'pull_request', body));
    expect(res.prs[0]?.fromFork).toBe(true);
  });

  it('a head whose fork was deleted (head.repo null) counts as a fork', async () => {
    const body = variant('github-pull-request-synchronize', (p) => {
      p.pull_request.head.repo = null;
    });
    expect((await call(delivery('github', 'pull_request', body))).prs[0]?.fromFork).toBe(true);
  });

  it('is verified like a push: a wrong signature is 401 and nothing is handed on', async () => {
    const req = delivery('github', 'pull_request', fixture('github-pull-request-opened'), {
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    });
    const res = await call(req);
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('SignatureInvalid');
    expect(res.prs).toEqual([]);
  });

  it('a malformed payload is 400 naming the field', async () => {
    const body = variant('github-pull-request-opened', (p) => {
      p.pull_request.head.sha = 'not-a-sha';
    });
    const res = await call(delivery('github', 'pull_request', body));
    expect(res.status).toBe(400);
    expect(res.json.message).toContain('pull_request.head.sha');
  });

  it('a redelivery of the same delivery id is a duplicate', async () => {
    const dedupe = new DeliveryDedupe({ clock: { now: () => new Date() } });
    const req = delivery('github', 'pull_request', fixture('github-pull-request-opened'));
    expect((await call(req, { dedupe })).status).toBe(202);
    const again = await call(req, { dedupe });
    expect(again.status).toBe(200);
    expect(again.json.duplicate).toBe('github-delivery-1');
  });

  it('without onPullRequest the event stays an unsupported one (200, ignored)', async () => {
    const res = await call(delivery('github', 'pull_request', fixture('github-pull-request-opened')), {
      onPullRequest: undefined,
    });
    expect(res.status).toBe(200);
    expect(res.json.ignored).toContain('unsupported event pull_request');
  });
});

describe('GitLab Merge Request Hook (GitLab documentation payload)', () => {
  it('open asks for a preview', async () => {
    const res = await call(delivery('gitlab', 'Merge Request Hook', fixture('gitlab-merge-request-open')));
    expect(res.status).toBe(202);
    expect(res.prs[0]).toMatchObject({
      action: 'update',
      provider: 'gitlab',
      repoName: 'gitlabhq/gitlab-test',
      repoUrl: 'http://example.com/gitlabhq/gitlab-test.git',
      number: 1,
      projectId: 1,
      baseBranch: 'master',
      headBranch: 'ms-viewport',
      headSha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      fromFork: false,
    });
  });

  it('update with new commits (oldrev) and reopen ask for a preview; update without oldrev is ignored', async () => {
    const pushed = variant('gitlab-merge-request-open', (p) => {
      p.object_attributes.action = 'update';
      p.object_attributes.oldrev = '95790bf891e76fee5e1747ab589903a6a1f80f22';
    });
    expect((await call(delivery('gitlab', 'Merge Request Hook', pushed))).prs[0]?.action).toBe('update');
    const reopened = variant('gitlab-merge-request-open', (p) => {
      p.object_attributes.action = 'reopen';
    });
    expect((await call(delivery('gitlab', 'Merge Request Hook', reopened))).prs[0]?.action).toBe('update');
    const retitled = variant('gitlab-merge-request-open', (p) => {
      p.object_attributes.action = 'update';
    });
    const res = await call(delivery('gitlab', 'Merge Request Hook', retitled));
    expect(res.status).toBe(200);
    expect(res.json.ignored).toBe('merge request update without new commits');
  });

  it.each(['close', 'merge'])('%s ends the preview', async (action) => {
    const body = variant('gitlab-merge-request-open', (p) => {
      p.object_attributes.action = action;
    });
    expect((await call(delivery('gitlab', 'Merge Request Hook', body))).prs[0]?.action).toBe('close');
  });

  it('a source project other than the target is a fork', async () => {
    const body = variant('gitlab-merge-request-open', (p) => {
      p.object_attributes.source_project_id = 15;
    });
    expect((await call(delivery('gitlab', 'Merge Request Hook', body))).prs[0]?.fromFork).toBe(true);
  });

  it('a wrong X-Gitlab-Token is 401', async () => {
    const req = delivery('gitlab', 'Merge Request Hook', fixture('gitlab-merge-request-open'), {
      'x-gitlab-token': 'not-the-secret',
    });
    expect((await call(req)).status).toBe(401);
  });
});

describe('Bitbucket Cloud pullrequest:* (documented payload shape)', () => {
  it('created asks for a preview; the 12-digit head hash is kept as given', async () => {
    const res = await call(delivery('bitbucket', 'pullrequest:created', fixture('bitbucket-pullrequest-created')));
    expect(res.status).toBe(202);
    expect(res.prs[0]).toMatchObject({
      action: 'update',
      provider: 'bitbucket',
      repoName: 'acme/infra',
      repoUrl: 'https://bitbucket.org/acme/infra.git',
      number: 7,
      baseBranch: 'main',
      headBranch: 'rename-orders',
      headSha: '9f3c2b1a7d6e',
      fromFork: false,
      url: 'https://bitbucket.org/acme/infra/pull-requests/7',
    });
  });

  it('updated asks for a preview; fulfilled and rejected end it; approved is ignored', async () => {
    const body = fixture('bitbucket-pullrequest-created');
    expect((await call(delivery('bitbucket', 'pullrequest:updated', body))).prs[0]?.action).toBe('update');
    expect((await call(delivery('bitbucket', 'pullrequest:fulfilled', body))).prs[0]?.action).toBe('close');
    expect((await call(delivery('bitbucket', 'pullrequest:rejected', body))).prs[0]?.action).toBe('close');
    const approved = await call(delivery('bitbucket', 'pullrequest:approved', body));
    expect(approved.status).toBe(200);
    expect(approved.prs).toEqual([]);
  });

  it('a source repository other than the destination is a fork', async () => {
    const body = variant('bitbucket-pullrequest-created', (p) => {
      p.pullrequest.source.repository.full_name = 'mallory/infra';
    });
    expect((await call(delivery('bitbucket', 'pullrequest:created', body))).prs[0]?.fromFork).toBe(true);
  });

  it('a wrong X-Hub-Signature is 401', async () => {
    const req = delivery('bitbucket', 'pullrequest:created', fixture('bitbucket-pullrequest-created'), {
      'x-hub-signature': `sha256=${'1'.repeat(64)}`,
    });
    expect((await call(req)).status).toBe(401);
  });
});
