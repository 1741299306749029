#!/usr/bin/env node
// Builds the `gitops` CLI into dist/ with esbuild: one small entry (help and --version answer from it) and chunks
// the entry imports only when a command runs. `npm ci` runs it through the `prepare` script, and vitest's global
// setup runs it before the tests, so the CLI never runs a stale bundle. Plain JavaScript: it must run before
// anything can load TypeScript.
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSpecIndex } from './spec-index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/**
 * zod's `locales` namespace carries every language's error messages (about 290 KB of the bundle, a third of what a
 * command parses at start); the CLI uses the English default only, so the namespace is cut down to `en`.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: resolve(args.resolveDir, args.path), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};

export async function buildCli() {
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch (err) {
    // An installed copy (a packed tarball, or a link without devDependencies) already carries dist/.
    if (existsSync(`${out}/gitops.cjs`)) return;
    throw new Error(`cannot build the gitops CLI: esbuild is missing (run npm ci first): ${err.message}`);
  }
  rmSync(out, { recursive: true, force: true });
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    // As the Lambda bundles (stack/function-bundling.ts): whitespace and syntax minified, names kept for traces.
    minifyWhitespace: true,
    minifySyntax: true,
    mainFields: ['module', 'main'],
    define: { GITOPS_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  };
  // The commands: main.mjs and the chunks it imports per command (the AWS SDK only for --target aws, the runtime
  // only for dev and status --web).
  await build({
    ...common,
    entryPoints: { main: 'bin/cli/main.ts' },
    outdir: out,
    chunkNames: 'chunk-[hash]',
    splitting: true,
    // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __gitopsCreateRequire } from 'node:module'; const require = __gitopsCreateRequire(import.meta.url);",
    },
    // Loaded from node_modules on first use: the diff library (plan diffs; template-diff.ts sets its own chalk's
    // colour level, which must be the copy the library resolves). openpgp is imported by a variable specifier
    // (shared/engine/signing.ts), so it stays out of the bundle and loads only for repositories that sign. The
    // resource specification (shared/render/resource-spec.ts) reads its database file beside its own module
    // (__dirname), so it too loads from node_modules, on first use.
    external: ['@aws-cdk/cloudformation-diff', '@aws-cdk/aws-service-spec'],
    plugins: [zodEnglishOnly],
  });
  // The entry, one self-contained CommonJS file: help and --version load no other module and never start Node's
  // ES module loader (measured: about 10 ms of a 60 ms start). Its few small modules (arguments, help, errors) are
  // copied, not shared with main.mjs; the entry hands main() the raw arguments, never an object of its own.
  await build({
    ...common,
    entryPoints: ['bin/cli/entry.ts'],
    outfile: `${out}/gitops.cjs`,
    format: 'cjs',
    // version.ts reads package.json through import.meta.url only when run from source; here GITOPS_VERSION is set.
    logOverride: { 'empty-import-meta': 'silent' },
    plugins: [
      {
        name: 'main-beside',
        setup(b) {
          b.onResolve({ filter: /^\.\/main\.ts$/ }, () => ({ path: './main.mjs', external: true }));
        },
      },
    ],
  });
  // The status page reads its assets beside its module (new URL('./assets/…', import.meta.url)).
  cpSync(`${root}shared/runtime/status-page/assets`, `${out}/assets`, { recursive: true });
  // The resource specification as small per-service files (shared/render/resource-spec.ts reads them beside its
  // chunk): render, plan and the local target then never load the whole database.
  await buildSpecIndex(`${out}/spec`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
