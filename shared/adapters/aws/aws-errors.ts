/**
 * Reading AWS SDK errors without depending on one client's exception classes: every service exception carries
 * `name` (the error code on the wire), `message` and `$metadata.httpStatusCode`.
 */

export function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === 'string' && v) return v;
  }
  return '';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

export function httpStatus(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const meta = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
    if (meta && typeof meta.httpStatusCode === 'number') return meta.httpStatusCode;
  }
  return undefined;
}

const throttleNames = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

/** CloudFormation answers `Throttling` / "Rate exceeded"; other services use their own names for the same thing. */
export function isThrottle(err: unknown): boolean {
  return throttleNames.has(errorName(err)) || /rate exceeded/i.test(errorMessage(err)) || httpStatus(err) === 429;
}

/** A fault on AWS's side or on the way there, worth retrying later. */
export function isTransient(err: unknown): boolean {
  if (isThrottle(err)) return true;
  const status = httpStatus(err);
  if (status !== undefined && status >= 500) return true;
  const name = errorName(err);
  return (
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'RequestTimeoutException' ||
    name === 'InternalFailure' ||
    name === 'ServiceUnavailable' ||
    /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)$/.test(name) ||
    (err instanceof Error && /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up/.test(err.message))
  );
}

export function isAbort(err: unknown): boolean {
  return errorName(err) === 'AbortError';
}
