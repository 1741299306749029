/**
 * How much a fetch may take in memory. A repository is untrusted input: a pack of a few hundred kilobytes can declare
 * gigabytes of zeros, so every size the server or the pack declares is checked against these limits before anything is
 * allocated. The defaults follow the memory of the function running the fetch (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`;
 * 512 MB is assumed for the CLI and `gitops dev`), and each can be set in the environment or in SourceOptions.
 *
 * Worst case, a fetch holds `maxResponseBytes` twice (the response and its pack), `maxFetchBytes` of objects, and
 * while it expands one delta its base and result (2 × `maxObjectBytes`): with the defaults, 5/8 of the memory.
 */
import { Reason, SourceError } from '../errors.ts';

export interface SourceLimits {
  /** The largest object (file, tree, commit) that is ever inflated. @default memory / 8 (32 MiB at 256 MB) */
  readonly maxObjectBytes: number;
  /** What one fetch may keep in memory: inflated objects plus large blobs kept compressed. @default memory / 8 */
  readonly maxFetchBytes: number;
  /** The largest HTTP response body (the ref advertisement, the pack). @default memory / 8 */
  readonly maxResponseBytes: number;
  /** The most objects one pack may hold. @default 400 per MB of memory (102,400 at 256 MB) */
  readonly maxObjects: number;
  /**
   * The most bytes one pack may inflate to, as its entries declare them. A file nobody reads is never held, but the
   * pack format gives no entry lengths, so each entry is decoded (streamed, 64 KiB at a time) to find the next: this
   * bounds that time. @default memory × 8 (2 GiB at 256 MB)
   */
  readonly maxInflateBytes: number;
}

/** The environment variable that sets each limit, named in every message about it. */
export const limitVariables: Record<keyof SourceLimits, string> = {
  maxObjectBytes: 'GITOPS_MAX_OBJECT_BYTES',
  maxFetchBytes: 'GITOPS_MAX_FETCH_BYTES',
  maxResponseBytes: 'GITOPS_MAX_RESPONSE_BYTES',
  maxObjects: 'GITOPS_MAX_PACK_OBJECTS',
  maxInflateBytes: 'GITOPS_MAX_INFLATE_BYTES',
};

/** Blobs larger than this are kept compressed and inflated only when read (the rest are inflated as the pack is read). */
export const lazyBlobBytes = 256 * 1024;

const MiB = 1024 * 1024;

function fromEnv(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SourceError(Reason.InvalidConfig, `${name} must be a positive whole number of bytes (got '${raw}')`, {
      field: name,
    });
  }
  return value;
}

/** The limits in force: explicit options first, then the environment, then the defaults sized to memory. */
export function sourceLimits(
  overrides: Partial<SourceLimits> = {},
  env: NodeJS.ProcessEnv = process.env,
): SourceLimits {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) || 512;
  const defaults: SourceLimits = {
    maxObjectBytes: (memoryMb * MiB) / 8,
    maxFetchBytes: (memoryMb * MiB) / 8,
    maxResponseBytes: (memoryMb * MiB) / 8,
    maxObjects: memoryMb * 400,
    maxInflateBytes: memoryMb * MiB * 8,
  };
  const pick = (key: keyof SourceLimits): number =>
    overrides[key] ?? fromEnv(limitVariables[key], env) ?? Math.floor(defaults[key]);
  return {
    maxObjectBytes: pick('maxObjectBytes'),
    maxFetchBytes: pick('maxFetchBytes'),
    maxResponseBytes: pick('maxResponseBytes'),
    maxObjects: pick('maxObjects'),
    maxInflateBytes: pick('maxInflateBytes'),
  };
}

/** `33554432` → `32 MiB` (messages show sizes people can compare with a file listing). */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** An object over `maxObjectBytes`: raised by the object readers, turned into `FetchTooLarge` naming the path. */
export class ObjectTooLarge extends Error {
  override readonly name = 'ObjectTooLarge';
  constructor(
    readonly oid: string,
    /** The declared size, when the pack told it (a delta over the limit is never expanded, so its size is unknown). */
    readonly size: number | undefined,
    readonly limit: number,
  ) {
    super(`object ${oid} is over the limit of ${formatBytes(limit)} per object`);
  }
}

/** The `FetchTooLarge` error for the file (or folder) at `path`. */
export function objectTooLargeError(path: string, err: ObjectTooLarge): SourceError {
  const what = err.size !== undefined ? `${path} is ${formatBytes(err.size)}, over` : `${path} is over`;
  return new SourceError(
    Reason.FetchTooLarge,
    `${what} the limit of ${formatBytes(err.limit)} per object (${limitVariables.maxObjectBytes})`,
    { file: path, cause: err },
  );
}
