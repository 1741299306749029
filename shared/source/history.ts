/** Ancestry over whatever history the object store holds: a shallow store can answer "don't know". */
import type { AsyncObjectReader } from './snapshot.ts';
import { readCommit } from './snapshot.ts';

/**
 * Whether `ancestor` is `descendant` or one of its ancestors. `undefined` when the walk reached a commit whose
 * parents are not in the store (a shallow boundary) without finding it, since the answer may lie beyond.
 */
export async function isAncestorIn(
  reader: AsyncObjectReader,
  ancestor: string,
  descendant: string,
  signal?: AbortSignal,
): Promise<boolean | undefined> {
  if (ancestor === descendant) return true;
  const seen = new Set<string>([descendant]);
  const queue = [descendant];
  let incomplete = false;
  while (queue.length > 0) {
    signal?.throwIfAborted();
    const oid = queue.shift()!;
    const commit = await readCommit(reader, oid).catch(() => undefined);
    if (!commit) {
      incomplete = true;
      continue;
    }
    for (const parent of commit.parents) {
      if (parent === ancestor) return true;
      if (!seen.has(parent)) {
        seen.add(parent);
        queue.push(parent);
      }
    }
  }
  return incomplete ? undefined : false;
}
