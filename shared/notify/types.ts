import type { GitOpsEvent } from '../events/catalog.ts';

/** Sends one event to one place (a topic, a chat channel, a commit status). */
export interface Notifier {
  send(event: GitOpsEvent): Promise<void>;
}

/** `fetch` as the senders use it, injectable for tests and proxies. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;
