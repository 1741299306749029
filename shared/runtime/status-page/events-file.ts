/**
 * Recent events for `gitops status --web` on a state folder: the tail of `<state>/events.jsonl` that the console
 * sink appends to. Only the last bytes are read, so a file that grew for months costs the same as a new one.
 */
import { open } from 'node:fs/promises';
import type { GitOpsEvent } from '../../events/catalog.ts';

/** The newest events of the file, oldest first; none when it does not exist. Lines that do not parse are skipped. */
export async function readEventsTail(path: string, maxBytes = 512 * 1024): Promise<GitOpsEvent[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    // A read that starts mid-file starts mid-line: the first piece is not a whole event.
    if (start > 0) lines.shift();
    const events: GitOpsEvent[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const value = JSON.parse(line) as GitOpsEvent;
        if (value && typeof value.detailType === 'string' && value.detail && typeof value.time === 'string') {
          events.push(value);
        }
      } catch {
        // A line cut by a concurrent append or a crash: the rest of the file is still worth showing.
      }
    }
    return events;
  } finally {
    await handle.close();
  }
}
