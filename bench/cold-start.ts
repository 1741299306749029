/**
 * Cold start: each function in functions/ bundled with esbuild the way the stack bundles it (settings read from
 * stack/gitops-construct.ts), then a fresh `node` process per run that imports the bundle inside a performance.now()
 * pair — module init, the part of a Lambda cold start the code controls. A bare handler bundled the same way is the
 * reference measured in the same run; the figure is init minus the bare handler's (median of the runs).
 *
 * The stack bundles the SDK too (externalModules is empty); if a module is ever marked external again, the bundles are
 * written under node_modules/.cache/, so its imports resolve to this project's node_modules the way Lambda resolves
 * them to the runtime's copy, and its load stays part of the measurement. NODE_OPTIONS=--enable-source-maps, as the stack sets it.
 *
 * Alone: `node bin/run-ts.js bench/cold-start.ts [--quick] [--cpu-prof]` (profiles go to bench/results/cpu-prof/).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { type Figure, formatTable, median } from './lib/figures.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'node_modules', '.cache', 'lambda-gitops-bench', 'cold-start');
const run = promisify(execFile);

/** Goals per function (init time minus the bare handler's). */
const GOAL_MS: Readonly<Record<string, number>> = { webhook: 30 };
const DEFAULT_GOAL_MS = 80;

interface StackBundling {
  readonly options: BuildOptions;
  readonly nodeOptions: string;
  readonly summary: string;
}

/** The NodejsFunction bundling block of the stack, read from its source so the benchmark follows the stack. */
export function stackBundling(): StackBundling {
  const file = join(ROOT, 'stack', 'gitops-construct.ts');
  const text = readFileSync(file, 'utf8');
  // From `bundling: {` to its last setting (externalModules): nested objects such as commandHooks stay inside.
  const block = /bundling:\s*\{([\s\S]*?externalModules:\s*\[[^\]]*\])/.exec(text)?.[1];
  if (!block) throw new Error(`${relative(ROOT, file)}: no "bundling: { ... }" block found`);
  const pick = (name: string, re: RegExp): string => {
    const m = re.exec(block);
    if (!m?.[1]) throw new Error(`${relative(ROOT, file)}: bundling.${name} not found; update bench/cold-start.ts`);
    return m[1];
  };
  const format = pick('format', /format:\s*nodejs\.OutputFormat\.(\w+)/).toLowerCase();
  const target = pick('target', /target:\s*'([^']+)'/);
  const platform = pick('platform', /platform:\s*'([^']+)'/);
  const minify = pick('minify', /minify:\s*(true|false)/) === 'true';
  const sourcemap = pick('sourceMap', /sourceMap:\s*(true|false)/) === 'true';
  const sourcesContent = pick('sourcesContent', /sourcesContent:\s*(true|false)/) === 'true';
  const mainFields = [...pick('mainFields', /mainFields:\s*\[([^\]]*)\]/).matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  const banner = pick('banner', /banner:\s*\n?\s*"([^"]+)"/);
  // An empty list (everything bundled, the SDK included) is a valid setting.
  const externalList = /externalModules:\s*\[([^\]]*)\]/.exec(block);
  if (!externalList)
    throw new Error(`${relative(ROOT, file)}: bundling.externalModules not found; update bench/cold-start.ts`);
  const external = [...(externalList[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  const nodeOptions = /NODE_OPTIONS:\s*'([^']*)'/.exec(text)?.[1] ?? '';
  if (format !== 'esm') throw new Error(`the stack bundles as ${format}; this benchmark writes .mjs bundles`);
  return {
    options: {
      bundle: true,
      platform: platform as BuildOptions['platform'],
      target,
      format: 'esm',
      minify,
      sourcemap,
      sourcesContent,
      mainFields,
      banner: { js: banner },
      external,
      logLevel: 'error',
      metafile: true,
    },
    nodeOptions,
    summary: `esbuild ${platform} ${target} esm${minify ? ' minify' : ''}${sourcemap ? ' sourcemap' : ''}, external ${external.length ? external.join(' ') : 'none'}${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}`,
  };
}

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  /** The largest inputs by bytes in the output, for finding what to make lazy. */
  readonly top: readonly string[];
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
  return { name, file: outfile, bytes: statSync(outfile).size, top };
}

/** One fresh process: import the bundle between two performance.now() calls and print the difference. */
async function initOnce(file: string, nodeOptions: string, cpuProf?: string): Promise<number> {
  const wrapper =
    'const t = performance.now(); const m = await import(process.argv[1]); const dt = performance.now() - t;' +
    " if (typeof m.handler !== 'function') throw new Error('no handler export'); console.log(dt);";
  const args = [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), '--input-type=module', '-e', wrapper];
  const { stdout } = await run(process.execPath, [...args, pathToFileURL(file).href], {
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

export async function benchColdStart(opts: { quick: boolean; cpuProf?: boolean }): Promise<Figure[]> {
  const settings = stackBundling();
  mkdirSync(OUT, { recursive: true });
  const bareEntry = join(OUT, 'bare-handler.ts');
  writeFileSync(bareEntry, 'export const handler = async (_event: unknown) => ({ statusCode: 200, body: "ok" });\n');
  const entries = readdirSync(join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  const bare = await bundle('bare', bareEntry, settings);
  const bundles: Bundle[] = [];
  for (const f of entries) bundles.push(await bundle(basename(f, '.ts'), join(ROOT, 'functions', f), settings));

  const runs = opts.quick ? 10 : 21;
  const samples = new Map<string, number[]>([
    [bare.name, []],
    ...bundles.map((b) => [b.name, []] as [string, number[]]),
  ]);
  // One untimed run each warms the OS file cache; then the bundles take turns, so machine noise hits all alike.
  for (const b of [bare, ...bundles]) await initOnce(b.file, settings.nodeOptions);
  for (let i = 0; i < runs; i++) {
    for (const b of [bare, ...bundles]) samples.get(b.name)!.push(await initOnce(b.file, settings.nodeOptions));
  }
  if (opts.cpuProf) {
    const dir = join(ROOT, 'bench', 'results', 'cpu-prof');
    for (const b of bundles) await initOnce(b.file, settings.nodeOptions, join(dir, b.name));
    console.error(`cpu profiles in ${relative(ROOT, dir)}/<function>/`);
  }
  const bareMs = median(samples.get(bare.name)!);
  const figures: Figure[] = [];
  for (const b of bundles) {
    const ms = median(samples.get(b.name)!);
    const goal = GOAL_MS[b.name] ?? DEFAULT_GOAL_MS;
    const value = ms - bareMs;
    figures.push({
      name: `init ${b.name}`,
      value,
      unit: 'ms',
      reference: `${ms.toFixed(1)} ms vs bare handler ${bareMs.toFixed(1)} ms (median of ${runs} fresh processes); bundle ${(b.bytes / 1024).toFixed(0)} KB: ${b.top.join(', ')}`,
      goal: `≤ ${goal} ms over bare`,
      met: value <= goal,
    });
  }
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
  console.log(formatTable(await benchColdStart({ quick, cpuProf: process.argv.includes('--cpu-prof') })));
}
