/**
 * Line numbers for render errors that name a file and a field but no line: parameter values reach the renderer as
 * plain maps, without their YAML positions, so `d/app.yaml: parameters.Env: "staging" is not one of AllowedValues`
 * and `t/app.yaml: Parameters.Size: required parameter … has no value` would leave the reader searching. The line is
 * looked up in the file itself, only when there is an error to report; the walk over the document is bounded.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError, type GitOpsError } from '../errors.ts';

/** `file: field: message` at the start of a message line; the field a dotted path like `parameters.Env`. */
const LOCATABLE = /^([^\s:]+): ([A-Za-z][\w-]*(?:\.[^\s:.]+)+): (.*)$/;
const MAX_LINES = 20;
const MAX_NODES = 20_000;

export async function withLines(
  error: GitOpsError,
  read: (path: string) => Promise<string>,
  /** Preferred when a field appears more than once (gitops.yaml: an environment's values or its overrides). */
  environment?: string,
): Promise<GitOpsError> {
  if (!(error instanceof ConfigError) || error.line !== undefined || !error.file) return error;
  const texts = new Map<string, Promise<string | undefined>>();
  let first: { file: string; line: number; field: string } | undefined;
  const lines = error.message.split('\n');
  for (let i = 0; i < Math.min(lines.length, MAX_LINES); i++) {
    const match = LOCATABLE.exec(lines[i] as string);
    if (!match) continue;
    const [, file, field, rest] = match as unknown as [string, string, string, string];
    if (!texts.has(file))
      texts.set(
        file,
        read(file).catch(() => undefined),
      );
    const text = await texts.get(file);
    const line = text === undefined ? undefined : lineOfField(text, field.split('.'), environment);
    if (line === undefined) continue;
    lines[i] = `${file}:${line}: ${field}: ${rest}`;
    first ??= { file, line, field };
  }
  if (!first && error.field && /^[A-Za-z][\w-]*(?:\.[^\s:.]+)+$/.test(error.field)) {
    // A message in its own words (a plaintext secret): the error's own file and field give the place.
    const text = await read(error.file).catch(() => undefined);
    const line = text === undefined ? undefined : lineOfField(text, error.field.split('.'), environment);
    if (line !== undefined) first = { file: error.file, line, field: error.field };
  }
  if (!first) return error;
  const same = first.file === error.file;
  return new ConfigError(error.reason, lines.join('\n'), {
    retryable: error.retryable,
    notify: error.notify,
    file: error.file,
    ...(same ? { line: first.line } : {}),
    ...(error.field ? { field: error.field } : {}),
    cause: error,
  });
}

/** The 1-based line of the key path ending in `segments`, anywhere in the document (preferring one under `env`). */
function lineOfField(text: string, segments: readonly string[], env?: string): number | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, strict: false });
  const found: { path: string[]; offset: number }[] = [];
  let visited = 0;
  const visit = (node: unknown, path: string[]): void => {
    if (++visited > MAX_NODES || found.length > 50) return;
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item) || !isScalar(item.key)) continue;
        const next = [...path, String(item.key.value)];
        if (endsWith(next, segments) && item.key.range) found.push({ path: next, offset: item.key.range[0] });
        visit(item.value, next);
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) visit(item as Node, [...path, String(i)]);
    }
  };
  visit(doc.contents, []);
  const best = (env && found.find((f) => f.path.includes(env))) || found[0];
  return best ? lineCounter.linePos(best.offset).line : undefined;
}

const endsWith = (path: readonly string[], tail: readonly string[]) =>
  path.length >= tail.length && tail.every((t, i) => path[path.length - tail.length + i] === t);
