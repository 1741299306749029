/** A GitHub push delivery shaped like a real one (repository, pusher, sender, commits), signed as GitHub signs it. */
import { createHmac } from 'node:crypto';

export function githubPushBody(after: string, n: number): string {
  const owner = { login: 'example', id: 1000, type: 'Organization', site_admin: false };
  const commits = [0, 1, 2].map((c) => ({
    id: c === 2 ? after : `${String(n).padStart(8, '0')}${'c'.repeat(31)}${c}`,
    tree_id: 'd'.repeat(40),
    distinct: true,
    message: `Change ${n}.${c}: raise the work queue visibility timeout\n\nThe consumer takes longer at peak.`,
    timestamp: '2025-06-01T12:00:00Z',
    url: `https://github.com/example/platform/commit/${after}`,
    author: { name: 'A Developer', email: 'dev@example.com', username: 'dev' },
    committer: { name: 'A Developer', email: 'dev@example.com', username: 'dev' },
    added: [],
    removed: [],
    modified: [`templates/svc${String(n % 1000).padStart(4, '0')}.yaml`],
  }));
  return JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(39) + (n % 10),
    after,
    repository: {
      id: 123456789,
      node_id: 'R_kgDOExample',
      name: 'platform',
      full_name: 'example/platform',
      private: true,
      owner,
      html_url: 'https://github.com/example/platform',
      description: 'Desired state of the platform',
      fork: false,
      url: 'https://github.com/example/platform',
      clone_url: 'https://github.com/example/platform.git',
      ssh_url: 'git@github.com:example/platform.git',
      default_branch: 'main',
      master_branch: 'main',
      pushed_at: 1748779200,
      size: 4096,
      visibility: 'private',
    },
    pusher: { name: 'dev', email: 'dev@example.com' },
    sender: owner,
    created: false,
    deleted: false,
    forced: false,
    compare: `https://github.com/example/platform/compare/${'0'.repeat(12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: commits[2],
  });
}

export function githubHeaders(body: string, secret: string, deliveryId: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/abc1234',
    'x-github-event': 'push',
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '512345678',
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    'content-length': String(Buffer.byteLength(body)),
  };
}
