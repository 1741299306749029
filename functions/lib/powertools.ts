/**
 * Powertools for AWS Lambda, behind the core's small Logger port. Every message and field is sanitized before it
 * reaches CloudWatch, as everywhere else.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../../shared/ports.ts';
import { sanitize, sanitizeDeep } from '../../shared/sanitize.ts';

export function functionLogger(serviceName: string): { logger: Logger; powertools: PowertoolsLogger } {
  const powertools = new PowertoolsLogger({ serviceName });
  const fields = (f?: Record<string, unknown>) => {
    if (!f) return [];
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(f)) {
      plain[k] = v instanceof Error ? { name: v.name, message: sanitize(v.message) } : sanitizeDeep(v);
    }
    return [plain];
  };
  const logger: Logger = {
    debug: (m, f) => powertools.debug(sanitize(m), ...fields(f)),
    info: (m, f) => powertools.info(sanitize(m), ...fields(f)),
    warn: (m, f) => powertools.warn(sanitize(m), ...fields(f)),
    error: (m, f) => powertools.error(sanitize(m), ...fields(f)),
  };
  return { logger, powertools };
}

/** An AbortSignal that fires `marginMs` before the Lambda would be killed, so every wait ends cleanly first. */
export function deadlineSignal(
  context: { getRemainingTimeInMillis(): number } | undefined,
  marginMs = 10_000,
): AbortSignal {
  const remaining = context?.getRemainingTimeInMillis() ?? 60_000;
  return AbortSignal.timeout(Math.max(1_000, remaining - marginMs));
}
