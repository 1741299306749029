/**
 * Removes credentials from text before it reaches a log, an event, the state store or an error message: user info in
 * URLs, bearer/basic authorization values, token-looking strings, and any value registered as a secret at runtime
 * (the webhook secret, the git token, SSM values read for notifications).
 */
const registered = new Set<string>();

/** Registers a secret value so that every later `sanitize` call masks it wherever it appears. */
export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; secrets this short are refused elsewhere.
  if (value && value.length >= 6) registered.add(value);
}

const patterns: ReadonlyArray<[RegExp, string]> = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*(?::[^/\s@]*)?@/gi, '$1***@'],
  [/\b(authorization|x-gitlab-token|x-hub-signature(?:-256)?)\s*[:=]\s*("?)[^\s"]+/gi, '$1: $2***'],
  [/\b(bearer|basic|token)\s+[a-z0-9._~+/=-]{8,}/gi, '$1 ***'],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, '***'],
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/g, '***'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g, '***'],
  [/https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g, 'https://hooks.slack.com/services/***'],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, '***'],
];

export function sanitize(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  for (const [re, replacement] of patterns) out = out.replace(re, replacement);
  return out;
}

/** Sanitizes every string inside a JSON-like value (for events and state records). */
export function sanitizeDeep<T>(value: T): T {
  if (typeof value === 'string') return sanitize(value) as T;
  if (Array.isArray(value)) return value.map((v) => sanitizeDeep(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sanitizeDeep(v);
    return out as T;
  }
  return value;
}
