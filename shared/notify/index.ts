export { type CommitStatus, commitStatusFor } from './commit-status.ts';
export {
  type DedupeState,
  type DedupeStore,
  fingerprint,
  MemoryDedupeStore,
  NotificationDeduper,
  type NotificationDeduperOptions,
} from './dedupe.ts';
export { type ChatNotification, formatChatNotification } from './format-chat.ts';
export { formatPlainText, type PlainText, SUBJECT_MAX } from './format-plain.ts';
export { formatSlack, type SlackMessage } from './format-slack.ts';
export { GitHubStatusNotifier, type GitHubStatusNotifierOptions } from './github-status.ts';
export { SlackNotifier, type SlackNotifierOptions } from './slack-notifier.ts';
export type { Fetch, Notifier } from './types.ts';
