/**
 * Reading a verified webhook body and its fields, shared by the push (`parse.ts`) and pull-request
 * (`pull-request.ts`) parsers. Nothing here trusts the payload to have a shape: every reader checks the value and
 * throws a `PayloadInvalid` error naming the field.
 */
import { Reason, WebhookError } from '../errors.ts';

export type Headers = Readonly<Record<string, string | undefined>>;
export type Json = Record<string, unknown>;

/**
 * The body as a JSON object. GitHub can send `application/x-www-form-urlencoded` with the JSON in a `payload` field;
 * every other body is parsed as JSON whatever its content type says.
 */
export function readPayload(headers: Headers, body: Buffer): Json {
  let text = body.toString('utf8');
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw invalid('form body has no payload field', 'payload');
    text = payload;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the body; say only what is wrong.
    throw invalid('the body is not valid JSON', 'body');
  }
  if (!isObject(parsed)) throw invalid('the body is not a JSON object', 'body');
  return parsed;
}

/** An event or action name from the payload, bounded and stripped before it goes into a log line or an answer. */
export function clean(text: string): string {
  return text.replace(/[^\w :.-]/g, '').slice(0, 60) || '(none)';
}

export function withGit(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return url.endsWith('.git') ? url : `${url.replace(/\/+$/, '')}.git`;
}

/** An http(s) URL with any user info removed: a clone URL must never carry credentials into events or state. */
export function cloneUrl(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`${field} is not a URL`, field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`${field} is not an http(s) URL`, field);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.toString();
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireObject(obj: Json, key: string, field = key): Json {
  const value = obj[key];
  if (!isObject(value)) throw invalid(`${field} is missing or not an object`, field);
  return value;
}

export function optionalObject(obj: Json, key: string): Json | undefined {
  const value = obj[key];
  return isObject(value) ? value : undefined;
}

/**
 * A full commit SHA (40 hex digits, or 64 for SHA-256 repositories), lower-cased; with `abbreviated`, a prefix of
 * 7 to 40 digits (Bitbucket's pull-request payloads).
 */
export function requireSha(obj: Json, key: string, field = key, abbreviated = false): string {
  const value = obj[key];
  const pattern = abbreviated ? /^[0-9a-f]{7,40}$/i : /^[0-9a-f]{40}([0-9a-f]{24})?$/i;
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw invalid(`${field} is missing or not a commit SHA`, field);
  }
  return value.toLowerCase();
}

export function invalid(message: string, field: string): WebhookError {
  return new WebhookError(Reason.PayloadInvalid, 400, message, { field });
}
