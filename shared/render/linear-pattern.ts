/**
 * Patterns that come from a repository (a template's `AllowedPattern`) run on RE2JS, a regular-expression engine
 * without backtracking: matching is linear in the value's length whatever the pattern, so `(a+)+b` against forty `a`
 * ends at once instead of stalling the sync function until its timeout. JavaScript's own `RegExp` backtracks and must
 * never see a pusher's pattern.
 *
 * RE2JS is loaded on first use (it is about 260 KB of code), so a function whose templates declare no pattern does not
 * pay for it at init.
 */

/** Whether a whole value matches a pattern; `undefined` when the engine cannot compile the pattern. */
export type PatternMatcher = (pattern: string, value: string) => boolean | undefined;

/** Compiled patterns; a template's few patterns are checked for every stack and environment. */
const MAX_CACHED_PATTERNS = 256;

let loading: Promise<PatternMatcher> | undefined;

export function loadPatternMatcher(): Promise<PatternMatcher> {
  loading ??= import('re2js').then(({ RE2JS }) => {
    const compiled = new Map<string, { matches(value: string): boolean } | undefined>();
    return (pattern, value) => {
      let re = compiled.get(pattern);
      if (!compiled.has(pattern)) {
        try {
          // DOTALL: CloudFormation's (Java) `.` — like the `s` flag the JavaScript check used before.
          re = RE2JS.compile(pattern, RE2JS.DOTALL);
        } catch {
          // Lookarounds and back-references have no linear-time form; CloudFormation still checks such a pattern.
          re = undefined;
        }
        if (compiled.size >= MAX_CACHED_PATTERNS) compiled.clear();
        compiled.set(pattern, re);
      }
      // `matches` is Java's: the whole value, as CloudFormation matches AllowedPattern.
      return re ? re.matches(value) : undefined;
    };
  });
  return loading;
}

/** Whether a template declares any `AllowedPattern` (only then is the engine loaded). */
export function declaresPatterns(parameters: Readonly<Record<string, { AllowedPattern?: unknown }>> | undefined) {
  return Object.values(parameters ?? {}).some((p) => p?.AllowedPattern !== undefined);
}
