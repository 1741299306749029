/**
 * Turns schema issues into one ConfigError that points at the file, line and field of each problem, the way a
 * compiler does: `gitops.yaml:12: stacks[1].dependsOn[0]: unknown stack "netwrk"`.
 */
import type { z } from 'zod';
import { ConfigError, Reason } from '../errors.ts';
import type { YamlSource } from '../render/yaml-source.ts';

export interface Problem {
  readonly line?: number;
  readonly field: string;
  readonly message: string;
}

/** `['stacks', 1, 'dependsOn', 0]` → `stacks[1].dependsOn[0]`; odd keys are quoted: `tags["team:name"]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[A-Za-z_$][\w$-]*$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

export function problemsFromZod(source: YamlSource, issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      const plural = issue.keys.length > 1 ? 's' : '';
      return {
        line: source.lineOfKey(issue.path, key),
        field: fieldPath([...issue.path, key]),
        message: `unknown field${plural} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
      };
    }
    return { line: source.lineOf(issue.path), field: fieldPath(issue.path), message: issue.message };
  });
}

/** One error for all problems: the first gives file/line/field, the message lists every one. */
export function problemsError(file: string, problems: readonly Problem[], reason: Reason = Reason.InvalidConfig) {
  const lines = problems.map((p) => formatProblem(file, p));
  const first = problems[0]!;
  return new ConfigError(reason, lines.join('\n'), {
    file,
    field: first.field,
    ...(first.line ? { line: first.line } : {}),
  });
}

export function formatProblem(file: string, p: Problem): string {
  const where = p.line ? `${file}:${p.line}` : file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}
