/**
 * An event must fit EventBridge's 256 KB entry, whatever a pusher wrote: one event over it fails the whole
 * PutEvents call, so a 300 KB commit message used to lose every event of its push (the webhook answered 500).
 * Free text from the repository is bounded here, once, for every event (makeEvent):
 *
 * - the commit message becomes its first line, at most COMMIT_MESSAGE_MAX_BYTES;
 * - the author and the message at most a few KB; a commit URL that long is dropped;
 * - if the detail is still over DETAIL_MAX_BYTES (thousands of drifted resources, a huge change list), the largest
 *   lists are cut and `data.truncated` says so.
 */
import type { ChangeSummary, CommitInfo, DriftedResource } from '../model.ts';
import type { EventDetail } from './catalog.ts';

/** The commit message's first line, at most 1 KB. */
export const COMMIT_MESSAGE_MAX_BYTES = 1024;
export const AUTHOR_MAX_BYTES = 512;
export const URL_MAX_BYTES = 2048;
/** The event's own sentence; it quotes error messages, which quote the repository. */
export const MESSAGE_MAX_BYTES = 8192;
/** The detail's JSON; the rest of the 256 KB entry (source, detail-type, time, resources) stays far below 6 KB. */
export const DETAIL_MAX_BYTES = 250_000;

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

/** The detail with every free-text field bounded and its JSON under DETAIL_MAX_BYTES. */
export function boundedDetail(detail: EventDetail): EventDetail {
  let out: EventDetail = {
    ...detail,
    message: truncateBytes(detail.message, MESSAGE_MAX_BYTES),
    ...(detail.commit ? { commit: boundedCommit(detail.commit) } : {}),
  };
  if (bytes(JSON.stringify(out)) <= DETAIL_MAX_BYTES) return out;
  // Still too big: the lists. Halve them until the detail fits; say what was cut.
  const cut: Record<string, number> = {};
  for (let keep = 512; keep >= 0; keep = keep === 0 ? -1 : Math.floor(keep / 2)) {
    out = {
      ...out,
      ...(detail.resources ? { resources: cutResources(detail.resources, keep, cut) } : {}),
      ...(detail.changes ? { changes: cutChanges(detail.changes, keep, cut) } : {}),
      ...(detail.data ? { data: cutData(detail.data, keep, cut) } : {}),
    };
    out = { ...out, data: { ...(out.data ?? {}), truncated: cut } };
    if (bytes(JSON.stringify(out)) <= DETAIL_MAX_BYTES) return out;
  }
  // Nothing list-like was the cause (an enormous field elsewhere): keep only what identifies the event.
  const { repo, branch, stack, environment, stackName, region, revision, commit, reason, severity, message } = out;
  return {
    ...(repo !== undefined ? { repo: truncateBytes(repo, URL_MAX_BYTES) } : {}),
    ...(branch !== undefined ? { branch: truncateBytes(branch, 1024) } : {}),
    ...(stack !== undefined ? { stack } : {}),
    ...(environment !== undefined ? { environment } : {}),
    ...(stackName !== undefined ? { stackName } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(commit !== undefined ? { commit } : {}),
    reason,
    severity,
    message,
    data: { truncated: { detail: 1 } },
  };
}

function cutResources(
  resources: readonly DriftedResource[],
  keep: number,
  cut: Record<string, number>,
): DriftedResource[] {
  if (resources.length > keep) cut['resources'] = resources.length - keep;
  return resources.slice(0, keep).map((r) => ({ ...r, differences: r.differences.slice(0, Math.max(1, keep / 8)) }));
}

function cutChanges(changes: ChangeSummary, keep: number, cut: Record<string, number>): ChangeSummary {
  const list = (name: keyof ChangeSummary) => {
    const items = changes[name];
    if (items.length > keep) cut[`changes.${name}`] = items.length - keep;
    return items.slice(0, keep);
  };
  return {
    added: list('added'),
    modified: list('modified'),
    removed: list('removed'),
    replaced: list('replaced'),
    parametersChanged: list('parametersChanged'),
    tagsChanged: list('tagsChanged'),
  };
}

function cutData(
  data: Readonly<Record<string, unknown>>,
  keep: number,
  cut: Record<string, number>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === 'truncated') continue;
    if (Array.isArray(value)) {
      if (value.length > keep) cut[`data.${key}`] = value.length - keep;
      out[key] = value.slice(0, keep);
    } else if (typeof value === 'string') out[key] = truncateBytes(value, Math.max(256, keep * 16));
    else out[key] = value;
  }
  return out;
}
