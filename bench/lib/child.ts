/**
 * Runs a benchmark script in a fresh Node process and reads the figures it prints: peak memory (maxRSS) then belongs to
 * that benchmark alone, and module caches warmed by earlier benchmarks do not flatter it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figures.ts';

const RUN_TS = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url));
export const FIGURES_MARK = '@@figures ';

export async function figuresFromChild(
  script: string,
  args: readonly string[],
  options: { readonly stderr?: 'inherit' | 'ignore' } = {},
): Promise<Figure[]> {
  const child = spawn(process.execPath, [RUN_TS, script, '--child', ...args], {
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((ok) => child.once('close', ok));
  const line = out.split('\n').find((l) => l.startsWith(FIGURES_MARK));
  if (code !== 0 || !line)
    throw new Error(`${script} exited with ${code} and printed no figures:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice(FIGURES_MARK.length)) as Figure[];
}

/** The child's side: print the figures where the parent looks for them. */
export function printFigures(figures: readonly Figure[]): void {
  process.stdout.write(`${FIGURES_MARK}${JSON.stringify(figures)}\n`);
}
