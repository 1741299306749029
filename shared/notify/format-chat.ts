/**
 * Amazon Q Developer in chat apps (formerly AWS Chatbot) custom notifications: the SNS message is this JSON, with
 * `version: "1.0"`, `source: "custom"` and markdown content. `threadId` keeps one chat thread per stack.
 */
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

export interface ChatNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id?: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps?: readonly string[];
    readonly keywords?: readonly string[];
  };
  readonly metadata?: {
    readonly threadId?: string;
    readonly summary?: string;
    readonly eventType?: string;
    readonly relatedResources?: readonly string[];
    readonly additionalContext?: Readonly<Record<string, string>>;
  };
}

/**
 * Repository text in chat markdown: no link of its own (`[docs](https://evil)`: markdown's backslash escapes for `[`
 * and `]`), and no `<!channel>`, `<https://…>` or `<url|text>` the chat app would parse (HTML entities for `& < >`).
 */
export function chatText(text: string): string {
  return escapeAngles(text).replace(/[[\]]/g, (c) => `\\${c}`);
}

export function formatChatNotification(event: GitOpsEvent): ChatNotification {
  const d = event.detail;
  const sha = shortSha(d.revision ?? d.commit?.sha);
  const title = truncate(`${SEVERITY_ICON[d.severity]} ${where(event)}: ${happened(event)}`, 250);
  const parts: string[] = [chatText(d.message)];
  const commit = d.commit;
  if (sha) {
    const url = linkableUrl(commit?.url);
    const link = url ? `[\`${sha}\`](${url})` : `\`${sha}\``;
    const by = commit?.author ? ` by ${chatText(commit.author)}` : '';
    const msg = commit?.message ? `: ${chatText(commit.message.split('\n')[0] ?? '')}` : '';
    parts.push(`Commit ${link}${by}${msg}`);
  }
  if (d.stackName) parts.push(`Stack \`${d.stackName}\`${d.region ? ` in ${d.region}` : ''} · reason \`${d.reason}\``);
  const failing = failingResources(event);
  if (failing.length) {
    parts.push(
      `*${event.detailType === 'Drift Detected' ? 'Drifted' : 'Failing'} resources*\n${failing.map((f) => `• ${chatText(f)}`).join('\n')}`,
    );
  }
  const changes = changeLines(d.changes);
  if (changes.length) parts.push(changes.map((c) => `• ${chatText(c)}`).join('\n'));
  const todo = advice(event);
  const url = consoleUrl(event);
  const notification: ChatNotification = {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title,
      description: truncate(parts.join('\n\n'), 8_000),
      ...(todo || url ? { nextSteps: [...(todo ? [todo] : []), ...(url ? [`Stack console: ${url}`] : [])] } : {}),
      keywords: [event.detailType, d.reason, ...(d.environment ? [d.environment] : [])],
    },
    metadata: {
      threadId: `lambda-gitops/${where(event)}`,
      summary: truncate(`${where(event)}: ${happened(event)}`, 200),
      eventType: event.detailType,
      ...(d.stackName ? { relatedResources: [d.stackName] } : {}),
      additionalContext: {
        reason: d.reason,
        severity: d.severity,
        ...(d.revision ? { revision: d.revision } : {}),
      },
    },
  };
  return sanitizeDeep(notification);
}
