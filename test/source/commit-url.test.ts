import { describe, expect, it } from 'vitest';
import { commitUrl } from '../../shared/source/index.ts';

const sha = '0123456789abcdef0123456789abcdef01234567';

describe('commitUrl', () => {
  it.each([
    ['https://github.com/acme/infra.git', `https://github.com/acme/infra/commit/${sha}`],
    ['https://gitlab.com/acme/platform/infra.git', `https://gitlab.com/acme/platform/infra/-/commit/${sha}`],
    ['https://bitbucket.org/acme/infra', `https://bitbucket.org/acme/infra/commits/${sha}`],
    ['https://x-access-token:secret@github.com/acme/infra', `https://github.com/acme/infra/commit/${sha}`],
    ['https://git.example.com/acme/infra.git', undefined],
    ['/srv/repos/infra', undefined],
  ])('links %s', (repo, expected) => {
    expect(commitUrl(repo, sha)).toBe(expected);
  });
});
