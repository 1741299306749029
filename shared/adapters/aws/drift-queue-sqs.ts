/**
 * The drift work queue on SQS FIFO: the message group is the account-region, so one worker at a time keeps to that
 * account-region's CloudFormation rate while other groups run side by side; the deduplication id is the run, the item
 * and its offset, so a continuation queued twice (a worker died before its message was deleted) arrives once.
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DriftWorkItem, DriftWorkQueue } from '../../engine/drift-fanout.ts';
import { Reason, StateError } from '../../errors.ts';
import { errorMessage, errorName } from './aws-errors.ts';

export interface SqsDriftWorkQueueOptions {
  readonly queueUrl: string;
  readonly client?: SQSClient;
  /** Tries of a batch's failed entries. @default 3 */
  readonly attempts?: number;
}

/** FIFO ids allow letters, digits and punctuation up to 128 characters. */
const fifoId = (text: string) => text.replace(/[^\w!"#$%&'()*+,\-./:;<=>?@[\\\]^`{|}~]/g, '-').slice(0, 128);

/** The SendMessageBatch entry of an item (also what the tests decode). */
export function driftMessage(item: DriftWorkItem, index: number) {
  return {
    Id: String(index),
    MessageBody: JSON.stringify(item),
    MessageGroupId: fifoId(item.group),
    MessageDeduplicationId: fifoId(`${item.runId}:${item.item}:${item.offset}`),
  };
}

export class SqsDriftWorkQueue implements DriftWorkQueue {
  readonly #client: SQSClient;
  readonly #url: string;
  readonly #attempts: number;

  constructor(options: SqsDriftWorkQueueOptions) {
    this.#client = options.client ?? new SQSClient({});
    this.#url = options.queueUrl;
    this.#attempts = options.attempts ?? 3;
  }

  async send(items: readonly DriftWorkItem[]): Promise<void> {
    for (const batch of batches(items.map(driftMessage))) {
      let entries = batch;
      for (let attempt = 1; entries.length; attempt++) {
        let failed: { Id?: string; Message?: string }[];
        try {
          const out = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#url, Entries: entries }));
          failed = out.Failed ?? [];
        } catch (err) {
          if (attempt >= this.#attempts) {
            throw new StateError(
              Reason.StateUnavailable,
              `cannot queue drift work: ${errorName(err)}: ${errorMessage(err)}`,
              {
                retryable: true,
                cause: err,
              },
            );
          }
          continue;
        }
        const ids = new Set(failed.map((f) => f.Id));
        entries = entries.filter((e) => ids.has(e.Id));
        if (entries.length && attempt >= this.#attempts) {
          throw new StateError(
            Reason.StateUnavailable,
            `cannot queue drift work: ${entries.length} message(s) refused: ${failed[0]?.Message ?? 'no reason given'}`,
            { retryable: true },
          );
        }
      }
    }
  }
}

/** SendMessageBatch takes at most 10 messages and 256 KiB in all: greedy batches under both. */
function batches<T extends { MessageBody: string }>(entries: readonly T[], maxBytes = 250_000): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.MessageBody);
    if (current.length && (current.length === 10 || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}
