/**
 * How the policy names a repository. Apart from the policy loader (shared/policy/load.ts) so that the checks the
 * functions run on every apply (ownership, policy/check.ts) do not load the policy schema and the YAML reader.
 */

/** A repository written as a URL (`https://…`, `ssh://…`), not a local path. */
export const isUrl = (repo: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);

/** The form two spellings of one repository share: no `.git`, no trailing `/`, URLs lower-cased. */
export function normalizeRepo(repo: string): string {
  const trimmed = repo.replace(/\/+$/, '').replace(/\.git$/, '');
  return isUrl(trimmed) ? trimmed.toLowerCase() : trimmed;
}
