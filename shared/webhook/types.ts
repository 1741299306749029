/** The shapes the webhook code passes around; the same in the Lambda and in `gitops dev`. */
import type { CommitInfo } from '../model.ts';

export type Provider = 'github' | 'gitlab' | 'bitbucket';

/** One HTTP delivery: header names lower-cased, the body exactly as received (signatures cover the raw bytes). */
export interface WebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

export type PushDelivery =
  | {
      readonly kind: 'push';
      readonly provider: Provider;
      readonly deliveryId: string;
      /** HTTPS clone URL, never with credentials in it. */
      readonly repoUrl: string;
      /** `owner/name` (GitLab: the full namespace path). */
      readonly repoName: string;
      readonly branch: string;
      /** Previous head of the branch; all zeros when the branch was created. */
      readonly before: string;
      readonly after: string;
      /** The new head commit. */
      readonly commit: CommitInfo;
    }
  | {
      readonly kind: 'ignored';
      readonly provider: Provider;
      readonly deliveryId: string;
      readonly reason: string;
    };

export type Push = Extract<PushDelivery, { kind: 'push' }>;
