/**
 * The local target's artifact store: packaged code zips, definitions and nested templates are written into the state
 * folder (`<state>/artifacts/<sha256>.zip`, `<state>/templates/<sha256>.json`), content-addressed, so the local loop
 * packages exactly what the AWS target would upload. Nothing reads them back from a bucket; the template names the
 * reserved `.invalid` host so a packaged local template can never be mistaken for a deployable one.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArtifactStore, ArtifactTarget } from '../../ports.ts';
import { UNPUBLISHED_ARTIFACTS } from '../../render/packaging.ts';
import { writeFileAtomic } from './fs-atomic.ts';

/** Keys of templates that passed the resource specification check, as empty files under `<state>/checked/`. */
export class FolderSpecCheckMemo {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = join(resolve(stateDir), 'checked');
  }

  async has(key: string): Promise<boolean> {
    if (!/^[0-9a-f]{64}$/.test(key)) return false;
    try {
      await access(join(this.#dir, key));
      return true;
    } catch {
      return false;
    }
  }

  async add(key: string): Promise<void> {
    if (/^[0-9a-f]{64}$/.test(key)) await writeFileAtomic(join(this.#dir, key), '');
  }
}

const KEY = /^(?:artifacts|templates)\/[0-9a-f]{64}(?:\.[a-z0-9]{1,16})?$/;

export class FolderArtifactStore implements ArtifactStore {
  readonly #dir: string;

  constructor(stateDir: string) {
    this.#dir = resolve(stateDir);
  }

  locate(_target: ArtifactTarget): { bucket: string; url(key: string): string } {
    return UNPUBLISHED_ARTIFACTS;
  }

  /** Where a key is written. */
  pathOf(key: string): string {
    // Keys come from render (a hash and an extension); anything else must not become a path.
    if (!KEY.test(key)) throw new Error(`not an artifact key: ${key}`);
    return join(this.#dir, key);
  }

  async put(_target: ArtifactTarget, key: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    try {
      await access(path);
      return; // content-addressed: already there
    } catch {
      await writeFileAtomic(path, bytes);
    }
  }
}
