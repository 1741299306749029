import { readFileSync } from 'node:fs';

/** Set by the bundle build (bin/build.js) from package.json; absent when the sources run through tsx. */
declare const GITOPS_VERSION: string | undefined;

export function version(): string {
  if (typeof GITOPS_VERSION === 'string') return GITOPS_VERSION;
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
