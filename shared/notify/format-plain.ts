/** Mail a person reads (SNS email): a subject that says which stack and what happened, and a body with the rest. */
import type { GitOpsEvent } from '../events/catalog.ts';
import { sanitize } from '../sanitize.ts';
import { terminalSafe } from '../terminal-text.ts';
import { advice, changeLines, consoleUrl, failingResources, happened, shortSha, where } from './describe.ts';

/** SNS: ASCII, no line breaks, under 100 characters, starting with a letter, number or punctuation. */
export const SUBJECT_MAX = 99;

export interface PlainText {
  readonly subject: string;
  readonly body: string;
}

export function formatPlainText(event: GitOpsEvent): PlainText {
  const d = event.detail;
  const sha = shortSha(d.revision ?? d.commit?.sha);
  const severityTag = d.severity === 'error' ? 'FAILED' : d.severity === 'warning' ? 'WARNING' : 'OK';
  const full = toAscii(
    `[${severityTag}] ${where(event)}: ${happened(event)}${d.reason && d.reason !== event.detailType ? ` (${d.reason})` : ''}${sha ? ` at ${sha}` : ''}`,
  );
  const subject = full.length <= SUBJECT_MAX ? full : `${full.slice(0, SUBJECT_MAX - 3)}...`;

  const lines: string[] = [];
  lines.push(
    `${event.detailType}: ${where(event)}${d.stackName ? ` (stack ${d.stackName}${d.region ? `, ${d.region}` : ''})` : ''}`,
  );
  lines.push('');
  lines.push(d.message);
  lines.push('');
  const field = (label: string, value: string | undefined) => {
    if (value) lines.push(`${`${label}:`.padEnd(11)}${value}`);
  };
  field('Revision', d.revision ?? d.commit?.sha);
  field('Commit', d.commit?.url);
  field('Author', d.commit?.author);
  field('Message', d.commit?.message?.split('\n')[0]);
  field('Repository', d.repo && `${d.repo}${d.branch ? ` (${d.branch})` : ''}`);
  field('Reason', d.reason);
  field('Severity', d.severity);
  field('Time', event.time);
  const failing = failingResources(event);
  if (failing.length) {
    lines.push('', event.detailType === 'Drift Detected' ? 'Drifted resources:' : 'Failing resources:');
    for (const f of failing) lines.push(`  - ${f}`);
  }
  const changes = changeLines(d.changes);
  if (changes.length) {
    lines.push('', 'Changes:');
    for (const c of changes) lines.push(`  ${c}`);
  }
  const todo = advice(event);
  if (todo) lines.push('', `What to do: ${todo}`);
  const url = consoleUrl(event);
  if (url) lines.push('', `Stack: ${url}`);
  // The body quotes repository text; a mail client shows control characters too.
  return { subject: sanitize(subject), body: terminalSafe(sanitize(lines.join('\n'))) };
}

function toAscii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/^[^A-Za-z0-9\p{P}]+/u, '');
}
