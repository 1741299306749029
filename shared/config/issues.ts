/**
 * Turns schema issues into one ConfigError that points at the file, line and field of each problem, the way a
 * compiler does: `gitops.yaml:12: stacks[1].dependsOn[0]: unknown stack "netwrk"`.
 */
import * as z from 'zod';
import { ConfigError, Reason } from '../errors.ts';
import type { YamlSource } from '../render/yaml-source.ts';
import { didYouMean } from '../suggest.ts';

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

export function problemsFromZod(
  source: YamlSource,
  issues: readonly z.core.$ZodIssue[],
  schema?: z.ZodType,
): Problem[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      const plural = issue.keys.length > 1 ? 's' : '';
      return {
        line: source.lineOfKey(issue.path, key),
        field: fieldPath([...issue.path, key]),
        message: `unknown field${plural} ${issue.keys.map((k) => `"${k}"`).join(', ')}${schema ? didYouMean(key, fieldNames(schema)) : ''}`,
      };
    }
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      return {
        line: source.lineOf(issue.path),
        field: fieldPath(issue.path),
        message: `missing: a ${issue.expected} is required`,
      };
    }
    return { line: source.lineOf(issue.path), field: fieldPath(issue.path), message: issue.message };
  });
}

const names = new WeakMap<z.ZodType, readonly string[]>();

/** Every field name the schema knows, at any depth: the candidates of "did you mean" (computed on errors only). */
export function fieldNames(schema: z.ZodType): readonly string[] {
  let known = names.get(schema);
  if (!known) {
    const found = new Set<string>();
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      const properties = (node as { properties?: Record<string, unknown> }).properties;
      if (properties && typeof properties === 'object') for (const name of Object.keys(properties)) found.add(name);
      for (const value of Object.values(node)) walk(value);
    };
    walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
    found.delete('$schema');
    known = [...found];
    names.set(schema, known);
  }
  return known;
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
