/**
 * How every function is bundled: the construct hands these to NodejsFunction's esbuild, and bench/cold-start.ts builds
 * with the very same values, so the module init it measures is the one that ships. Plain data: no CDK import here.
 */
export const FUNCTION_BUNDLING = {
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // Whitespace and syntax are minified, identifiers are not: a stack trace names the real functions even without
  // source maps, and keeping the names costs no measurable init time (bench/cold-start.ts).
  minifyWhitespace: true,
  minifySyntax: true,
  // The map ships beside each bundle (index.mjs.map) for reading positions offline; Node applies it to stack traces
  // only with `sourceMaps: true`, because parsing it costs each cold start about 9 ms of module init.
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner:
    "import { createRequire as __gitopsCreateRequire } from 'node:module'; const require = __gitopsCreateRequire(import.meta.url);",
  // Paths are relative to the project root, where esbuild runs. functions/lib/lambda-credentials.ts says why.
  alias: { '@aws-sdk/credential-provider-node': './functions/lib/lambda-credentials.ts' },
} as const;

/** NODE_OPTIONS of the functions when `sourceMaps` is on. */
export const SOURCE_MAPS_NODE_OPTIONS = '--enable-source-maps';
