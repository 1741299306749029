import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearMemoryCache, RemoteSource } from '../../shared/source/index.ts';
import { commitFiles, createBareRepo, createWorkRepo, makeGitEnv, push } from '../helpers/git-repo.ts';
import { startGitServer } from '../helpers/git-server.ts';

describe('git credentials in the token', () => {
  it('splits user:password (CodeCommit HTTPS Git credentials, Bitbucket app passwords) into Basic auth', async () => {
    const genv = makeGitEnv();
    const root = mkdtempSync(join(tmpdir(), 'gitops-creds-'));
    const work = createWorkRepo(genv, join(root, 'work'));
    const bare = createBareRepo(genv, join(root, 'srv'), 'repo');
    commitFiles(genv, work, { 'a.yaml': 'a: 1\n' }, 'First');
    push(genv, work, bare);
    const server = await startGitServer({
      root: join(root, 'srv'),
      auth: { username: 'gitops-at-123456789012', password: 'Zq7+cred/With=Colon:Inside' },
      env: genv.env,
    });
    try {
      clearMemoryCache();
      const source = new RemoteSource(server.url('repo'), {
        cacheDir: join(root, 'cache'),
        token: async () => 'gitops-at-123456789012:Zq7+cred/With=Colon:Inside',
      });
      const snapshot = await source.fetch();
      expect((await snapshot.list()).map((e) => e.path)).toEqual(['a.yaml']);

      const wrong = new RemoteSource(server.url('repo'), {
        cacheDir: join(root, 'cache2'),
        token: async () => 'gitops-at-123456789012:not-the-password',
      });
      const error = await wrong.fetch().catch((e: Error) => e);
      expect(error).toMatchObject({ reason: 'AuthFailed' });
      expect(String((error as Error).message)).not.toContain('not-the-password');
    } finally {
      await server.close();
    }
  });
});
