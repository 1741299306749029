/**
 * YAML reading shared by templates and manifests: one place that turns the `yaml` package's errors and warnings into
 * ConfigErrors naming the file and line, guards against alias bombs, and maps a value path (`['stacks', 1, 'name']`)
 * back to the line it came from so validation errors can point at it.
 */
import { type Document, isAlias, isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Tags } from 'yaml';
import { ConfigError, type Reason } from '../errors.ts';

/** A Document plus what is needed to name lines in it. */
export interface YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** The 1-based line of the node at `path`, or of its closest existing parent. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
  /** The 1-based line of the key `key` in the mapping at `path` (for unknown-key errors). */
  lineOfKey(path: readonly PropertyKey[], key: string): number | undefined;
}

export interface ParseYamlOptions {
  /** Extra tags (the CloudFormation short forms); `schema` picks the base set. */
  readonly customTags?: Tags | ((tags: Tags) => Tags);
  readonly schema?: 'core' | 'yaml-1.1';
}

/** Parses one YAML document and throws ConfigError `InvalidTemplate` / `InvalidConfig` with file and line. */
export function parseYamlSource(
  text: string,
  file: string,
  reason: Reason,
  options: ParseYamlOptions = {},
): YamlSource {
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: true,
      uniqueKeys: true,
      // Merge keys are not part of CloudFormation's YAML; `<<` stays an ordinary (and so invalid) key.
      merge: false,
      schema: options.schema ?? 'core',
      ...(options.customTags ? { customTags: options.customTags } : {}),
    });
  } catch (err) {
    throw new ConfigError(reason, `${file}: cannot parse YAML: ${(err as Error).message}`, { file, cause: err });
  }
  const problem = doc.errors[0] ?? doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (problem) {
    const line = problem.linePos?.[0].line ?? lineAt(lineCounter, problem.pos[0]);
    const text = firstLine(problem.message);
    throw new ConfigError(reason, `${file}:${line}: ${describeYamlProblem(problem.code, text)}`, {
      file,
      line,
      cause: problem,
    });
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) return lineAt(lineCounter, node.range[0]);
    }
    return undefined;
  };
  const lineOfKey = (path: readonly PropertyKey[], key: string): number | undefined => {
    const parent = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
    if (isMap(parent)) {
      for (const item of parent.items) {
        if (isPair(item) && isScalar(item.key) && String(item.key.value) === key && item.key.range) {
          return lineAt(lineCounter, item.key.range[0]);
        }
      }
    }
    return lineOf(path);
  };
  return { file, doc, lineCounter, lineOf, lineOfKey };
}

/**
 * Converts a parsed manifest to plain data. Aliases are expanded with `maxAliasCount` so a "billion laughs" document
 * fails fast instead of exhausting memory.
 */
export function yamlToJs(source: YamlSource, reason: Reason): unknown {
  try {
    return source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const line = firstAliasLine(source);
    throw new ConfigError(
      reason,
      `${source.file}${line ? `:${line}` : ''}: too many alias expansions (a YAML alias bomb?)`,
      { file: source.file, ...(line ? { line } : {}), cause: err },
    );
  }
}

/** The yaml package's own guard: alias expansions weighted by their size. */
export const MAX_ALIAS_COUNT = 100;

export function lineAt(lineCounter: LineCounter, offset: number): number {
  return lineCounter.linePos(offset).line;
}

export function firstAliasLine(source: YamlSource): number | undefined {
  let found: number | undefined;
  const visit = (node: unknown): void => {
    if (found !== undefined || !node || typeof node !== 'object') return;
    if (isAlias(node)) {
      if (node.range) found = lineAt(source.lineCounter, node.range[0]);
      return;
    }
    const items = (node as { items?: unknown[] }).items;
    if (Array.isArray(items)) {
      for (const item of items) {
        if (isPair(item)) {
          visit(item.key);
          visit(item.value);
        } else visit(item);
      }
    }
  };
  visit(source.doc.contents);
  return found;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  // prettyErrors appends " at line N, column M"; the line is already in front of the message.
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

function describeYamlProblem(code: string, message: string): string {
  if (code === 'TAG_RESOLVE_FAILED') {
    const tag = /Unresolved tag: (\S+)/.exec(message)?.[1];
    return tag ? `unknown tag ${tag}` : message;
  }
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${message}`;
  return message;
}
