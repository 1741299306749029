/**
 * `deploymentFiles` globs from gitops.yaml, matched in linear time. A glob is the repository's text, so it is turned
 * into an RE2 pattern (shared/render/linear-pattern.ts) instead of a backtracking RegExp: with picomatch,
 * `*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b` took 49 s against one 36-character path.
 *
 * Supported: `*` (within a path segment), `**` (any number of segments), `?`, `[abc]`, `[!abc]`, `[a-z]`, `{a,b}`
 * (nested too) and `\` to escape. As with picomatch's `dot: false`, wildcards never match a name that starts with
 * `.`; a literal `.` in the glob does.
 */
import { ConfigError, Reason } from '../errors.ts';
import type { PatternMatcher } from '../render/linear-pattern.ts';

/** Longer globs are refused: no real one comes close, and each byte costs on every path. */
export const MAX_GLOB_LENGTH = 1024;
/** `{a,b}{c,d}…` multiplies; past this many alternatives the glob is refused. */
export const MAX_BRACE_EXPANSIONS = 256;

export interface GlobOrigin {
  readonly file: string;
  readonly field: string;
  readonly line?: number;
}

/** A predicate over repository paths for one glob; throws ConfigError for a glob it cannot accept. */
export function compileGlob(glob: string, match: PatternMatcher, origin: GlobOrigin): (path: string) => boolean {
  const refuse = (why: string) =>
    new ConfigError(Reason.InvalidConfig, `${origin.file}: ${origin.field}: ${why}`, {
      file: origin.file,
      field: origin.field,
      ...(origin.line ? { line: origin.line } : {}),
    });
  if (glob.length > MAX_GLOB_LENGTH) throw refuse(`the glob is over ${MAX_GLOB_LENGTH} characters`);
  const alternatives = expandBraces(glob);
  if (alternatives === undefined) {
    throw refuse(`the glob expands to more than ${MAX_BRACE_EXPANSIONS} alternatives ({…} multiply)`);
  }
  const pattern = alternatives.map(globToRe2).join('|');
  return (path) => {
    const matched = match(pattern, path);
    if (matched === undefined) throw refuse('the glob cannot be compiled');
    return matched;
  };
}

/** `{a,b}c` → [`ac`, `bc`]; undefined past MAX_BRACE_EXPANSIONS. An unbalanced `{` stays literal. */
export function expandBraces(glob: string): string[] | undefined {
  const open = findUnescaped(glob, '{', 0);
  if (open === -1) return [glob];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < glob.length && close === -1; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) close = i;
    else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close === -1 || commas.length === 0) {
    // Not a brace list: keep the `{` literal (escaped) and expand what follows.
    const rest = expandBraces(glob.slice(open + 1));
    return rest?.map((r) => `${glob.slice(0, open)}\\{${r}`);
  }
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  const tails = expandBraces(glob.slice(close + 1));
  if (tails === undefined) return undefined;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const inner = expandBraces(glob.slice(bounds[k]! + 1, bounds[k + 1]));
    if (inner === undefined) return undefined;
    for (const middle of inner) {
      for (const tail of tails) {
        out.push(`${glob.slice(0, open)}${middle}${tail}`);
        if (out.length > MAX_BRACE_EXPANSIONS) return undefined;
      }
    }
  }
  return out;
}

function findUnescaped(text: string, char: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === char) return i;
  }
  return -1;
}

const SEGMENT_NAME = '[^/.][^/]*';

/** One brace-free glob as an RE2 pattern over a whole path. */
function globToRe2(glob: string): string {
  const segments = glob.split('/');
  let out = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      // Zero or more whole segments; a trailing `**` matches everything below the folder before it.
      out += last ? `(?:${SEGMENT_NAME}(?:/${SEGMENT_NAME})*)?` : `(?:${SEGMENT_NAME}/)*`;
      return;
    }
    out += segmentToRe2(segment) + (last ? '' : '/');
  });
  return out;
}

function segmentToRe2(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    const first = out === '';
    if (c === '\\' && i + 1 < segment.length) {
      out += escapeRe2(segment[++i]!);
    } else if (c === '*') {
      while (segment[i + 1] === '*') i++;
      const next = segment[i + 1];
      if (!first) out += '[^/]*';
      // A leading `*` never matches a dot file: empty only when a non-dot literal follows.
      else if (next === undefined || '*?[\\.'.includes(next)) out += SEGMENT_NAME;
      else out += `(?:${SEGMENT_NAME})?`;
    } else if (c === '?') {
      out += first ? '[^/.]' : '[^/]';
    } else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      const escaped = body.replace(/[\\\]^[]/g, (m) => `\\${m}`);
      out += negated ? `[^/${first ? '.' : ''}${escaped}]` : `[${escaped}]`;
      i = end;
    } else {
      out += escapeRe2(c);
    }
  }
  return out;
}

function escapeRe2(char: string): string {
  return /[\\^$.|?*+()[\]{}]/.test(char) ? `\\${char}` : char;
}
