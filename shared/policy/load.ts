/**
 * Reads the installation policy: a YAML or JSON file for the CLI and `gitops dev` (`--policy FILE`, `GITOPS_POLICY`),
 * the JSON the construct puts in the functions' environment. Every error names the file (or variable), line and field.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { problemsError, problemsFromZod } from '../config/issues.ts';
import { ConfigError, Reason } from '../errors.ts';
import { loadYaml } from '../render/cfn-template.ts';
import { isUrl, normalizeRepo } from './repo-name.ts';
import { type InstallationPolicy, installationPolicySchema } from './schema.ts';

export { normalizeRepo } from './repo-name.ts';

/** A policy file bigger than this is refused: it is read on every run. */
export const MAX_POLICY_BYTES = 1_048_576;

/**
 * Parses a policy. `origin` names it in errors (a file path, `GITOPS_POLICY`); `baseDir`, when given, resolves the
 * `repo` of local repositories written as relative paths.
 */
export function parsePolicy(text: string, origin: string, baseDir?: string): InstallationPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) {
    throw new ConfigError(Reason.LimitExceeded, `${origin}: the policy is over ${MAX_POLICY_BYTES} bytes`, {
      file: origin,
    });
  }
  const { value, source } = loadYaml(text, origin);
  const parsed = installationPolicySchema.safeParse(value ?? {});
  if (!parsed.success) throw problemsError(origin, problemsFromZod(source, parsed.error.issues));
  const repositories = parsed.data.repositories.map((r) =>
    baseDir && !isUrl(r.repo) && !isAbsolute(r.repo) ? { ...r, repo: resolve(baseDir, r.repo) } : r,
  );
  const seen = new Map<string, number>();
  for (const [i, r] of repositories.entries()) {
    const key = normalizeRepo(r.repo);
    const first = seen.get(key);
    if (first !== undefined) {
      const line = source.lineOf(['repositories', i, 'repo']);
      throw new ConfigError(
        Reason.InvalidConfig,
        `${origin}${line ? `:${line}` : ''}: repositories[${i}].repo: "${r.repo}" is already named by repositories[${first}]`,
        { file: origin, field: `repositories[${i}].repo`, ...(line ? { line } : {}) },
      );
    }
    seen.set(key, i);
  }
  return { ...parsed.data, repositories, origin };
}

/** `--policy FILE` or `GITOPS_POLICY=FILE`. */
export function readPolicyFile(file: string): InstallationPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(Reason.InvalidConfig, `cannot read the policy file ${file}: ${(err as Error).message}`, {
      file,
      field: '--policy',
      cause: err,
    });
  }
  return parsePolicy(text, file, dirname(resolve(file)));
}
