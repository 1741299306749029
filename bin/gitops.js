#!/usr/bin/env node
// The `gitops` command: the bundle bin/build.js writes to dist/ (`npm ci` builds it through the `prepare` script,
// `npm start` and the test suite rebuild it). A checkout whose node_modules came without `npm ci` builds it once here.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/gitops.mjs', import.meta.url);
if (!existsSync(bundle)) {
  const { buildCli } = await import('./build.js');
  await buildCli();
}
await import(bundle.href);
