/** Slack incoming-webhook message: a fallback `text` and Block Kit blocks. */
import type { GitOpsEvent } from '../events/catalog.ts';
import { sanitizeDeep } from '../sanitize.ts';
import {
  advice,
  changeLines,
  consoleUrl,
  escapeAngles,
  failingResources,
  happened,
  linkableUrl,
  SEVERITY_ICON,
  shortSha,
  truncate,
  where,
} from './describe.ts';

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

/**
 * Slack's escaping for `&`, `<` and `>`: every text Slack formats — mrkdwn blocks and the fallback `text`, which it
 * also parses — so a repository's `<!channel>` or `<https://evil|docs>` stays literal.
 */
export const slackEscape = escapeAngles;
const esc = slackEscape;

export function formatSlack(event: GitOpsEvent): SlackMessage {
  const d = event.detail;
  const headline = `${where(event)}: ${happened(event)}`;
  const sha = shortSha(d.revision ?? d.commit?.sha);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, 150), emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`${SEVERITY_ICON[d.severity]} ${esc(d.message)}`, 3_000) },
    },
  ];
  const failing = failingResources(event);
  if (failing.length) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*${event.detailType === 'Drift Detected' ? 'Drifted' : 'Failing'} resources*\n${failing.map((f) => `• ${esc(f)}`).join('\n')}`,
          3_000,
        ),
      },
    });
  }
  const changes = changeLines(d.changes);
  if (changes.length) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(changes.map((c) => `• ${esc(c)}`).join('\n'), 3_000) },
    });
  }
  const todo = advice(event);
  if (todo) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*What to do:* ${esc(todo)}` } });
  const context: string[] = [];
  const commitUrl = linkableUrl(d.commit?.url);
  if (sha) context.push(commitUrl ? `<${esc(commitUrl)}|${esc(sha)}>` : esc(sha));
  if (d.commit?.author) context.push(esc(d.commit.author));
  if (d.commit?.message) context.push(esc(truncate(d.commit.message.split('\n')[0] ?? '', 120)));
  if (d.stackName) {
    const url = consoleUrl(event);
    context.push(url ? `<${url}|${esc(d.stackName)}>` : esc(d.stackName));
  }
  context.push(`reason: ${esc(d.reason)}`);
  blocks.push({ type: 'context', elements: context.slice(0, 10).map((text) => ({ type: 'mrkdwn', text })) });
  return sanitizeDeep({ text: truncate(esc(`${headline}: ${d.message}`), 3_000), blocks });
}
