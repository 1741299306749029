/**
 * An event must fit EventBridge's 256 KB entry, whatever a pusher wrote: one event over it fails the whole
 * PutEvents call, so a 300 KB commit message used to lose every event of its push (the webhook answered 500).
 * Free text from the repository is bounded here, once, for every event (makeEvent):
 *
 * - a commit's message becomes its first line, at most COMMIT_MESSAGE_MAX_BYTES (in `commit` and in any commit the
 *   event's `data` carries, such as Out Of Sync's `headCommit`); its author at most 512 bytes; a URL over 2 KB is
 *   dropped;
 * - the event's own `message`, and any text in `data`, at most MESSAGE_MAX_BYTES.
 *
 * Long lists (thousands of drifted resources or changes) are the EventBridge sink's to cut, with a note, because only
 * EventBridge has the limit (shared/adapters/aws/events-eventbridge.ts); the local event log keeps them whole.
 */
import type { CommitInfo } from '../model.ts';
import type { EventDetail } from './catalog.ts';

/** The commit message's first line, at most 1 KB. */
export const COMMIT_MESSAGE_MAX_BYTES = 1024;
export const AUTHOR_MAX_BYTES = 512;
export const URL_MAX_BYTES = 2048;
/** The event's own sentence; it quotes error messages, which quote the repository. */
export const MESSAGE_MAX_BYTES = 8192;

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The text cut to at most `max` UTF-8 bytes (on a character boundary), with `…` when cut. */
export function truncateBytes(text: string, max: number): string {
  if (bytes(text) <= max) return text;
  const room = max - 3; // the ellipsis is 3 bytes
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const size = ch.length === 2 ? 4 : ch.charCodeAt(0) < 0x80 ? 1 : ch.charCodeAt(0) < 0x800 ? 2 : 3;
    if (used + size > room) break;
    used += size;
    end += ch.length;
  }
  return `${text.slice(0, end)}…`;
}

/** The commit message an event carries: its first line, at most 1 KB. */
export function commitHeadline(message: string): string {
  const end = message.indexOf('\n');
  return truncateBytes((end === -1 ? message : message.slice(0, end)).trimEnd(), COMMIT_MESSAGE_MAX_BYTES);
}

function boundedCommit(commit: CommitInfo): CommitInfo {
  const { message, author, url, ...rest } = commit;
  return {
    ...rest,
    ...(author !== undefined ? { author: truncateBytes(author, AUTHOR_MAX_BYTES) } : {}),
    ...(message !== undefined ? { message: commitHeadline(message) } : {}),
    ...(url !== undefined && bytes(url) <= URL_MAX_BYTES ? { url } : {}),
  };
}

const isCommit = (value: unknown): value is CommitInfo =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { sha?: unknown }).sha === 'string' &&
  'message' in value &&
  typeof (value as { message?: unknown }).message === 'string';

/** Text in `data`, at any depth: commits bounded as commits, other strings at MESSAGE_MAX_BYTES. */
function boundedData(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return truncateBytes(value, MESSAGE_MAX_BYTES);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (isCommit(value)) return boundedCommit(value);
  if (Array.isArray(value)) return value.map((item) => boundedData(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = boundedData(item, depth + 1);
  return out;
}

/** The detail with every free-text field bounded (see above). */
export function boundedDetail(detail: EventDetail): EventDetail {
  return {
    ...detail,
    message: truncateBytes(detail.message, MESSAGE_MAX_BYTES),
    ...(detail.commit ? { commit: boundedCommit(detail.commit) } : {}),
    ...(detail.data ? { data: boundedData(detail.data, 0) as Record<string, unknown> } : {}),
  };
}
