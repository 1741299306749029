/**
 * Vitest global setup: builds the `gitops` bundle (bin/build.js, what `npm ci` runs through `prepare`) once before
 * the suite, so the CLI tests run the code of this checkout and never a stale dist/.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['bin/build.js'], { stdio: 'inherit' });
}
