/**
 * Loggers for the CLI and the local runtime: a readable one-liner per message for people, or JSON lines for machines.
 * Every message and field goes through `sanitize` twice: once on the values (so a registered secret is found before
 * JSON escaping could change its spelling) and once on the finished line.
 */
import type { Logger } from './ports.ts';
import { sanitize, sanitizeDeep } from './sanitize.ts';
import { terminalSafe } from './terminal-text.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const rank: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface ConsoleLoggerOptions {
  /** The lowest level written. @default 'info' */
  readonly level?: LogLevel;
  /** One JSON object per line instead of the readable form. @default false */
  readonly json?: boolean;
  /** @default process.stderr */
  readonly stream?: { write(chunk: string): unknown };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const threshold = rank[options.level ?? 'info'];
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (rank[level] < threshold) return;
    const clean = fields ? (sanitizeDeep(plain(fields)) as Record<string, unknown>) : {};
    const line = options.json
      ? safeJson({ time: now().toISOString(), level, message: sanitize(message), ...clean })
      : `${now().toISOString()} ${level.toUpperCase().padEnd(5)} ${sanitize(message)}${formatFields(clean)}`;
    // Messages quote repository text (paths, commit messages): no terminal escapes in a log line.
    stream.write(`${terminalSafe(sanitize(line))}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** Drops everything; for tests and for callers that only want events. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** ` key=value key2="a b"`: values that are not simple words are JSON-quoted so a line stays one line. */
function formatFields(fields: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : safeJson(value);
    parts.push(`${key}=${/^[\w.:/@+-]+$/.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/**
 * Turns errors and other class instances into plain objects: `sanitizeDeep` only walks plain objects, and an Error's
 * own properties are not enumerable, so without this its message would be lost or left unsanitized.
 */
function plain(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    for (const key of ['reason', 'status', 'file', 'line', 'field', 'code'] as const) {
      const v = (value as unknown as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = v;
    }
    if (value.cause !== undefined) out['cause'] = plain(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1);
    return out;
  }
  return value;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'undefined';
  } catch {
    return '[unserializable]';
  }
}
