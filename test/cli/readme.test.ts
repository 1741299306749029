/**
 * The README's "Send your own change": the commands `npm start` prints are the README's, and they work when run
 * twice in a row against the running demo (each run commits a new value, none changes folder).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { consoleLogger } from '../../shared/log.ts';
import { demoInstructions, startDevRuntime } from '../../shared/runtime/dev.ts';

const run = promisify(execFile);

/** The shell block under "Send your own change" in README.md. */
function readmeBlock(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const from = readme.indexOf('Send your own change through the loop');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  return (block?.[1] ?? '').trimEnd().split('\n');
}

/** The command lines of what the demo prints under "Send your own change", without their indent. */
function printedBlock(text: string): string[] {
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.startsWith('Send your own change through the loop'));
  const block: string[] = [];
  for (const line of lines.slice(from + 1)) {
    if (!line.startsWith('  ')) break;
    block.push(line.slice(2));
  }
  return block;
}

describe('README: send your own change', () => {
  it('shows the very commands npm start prints', () => {
    const printed = demoInstructions(
      'http://127.0.0.1:8787',
      resolve('.gitops/demo/repo'),
      resolve('.gitops/demo/webhook-secret'),
      resolve('.gitops'),
    );
    expect(readmeBlock()).toEqual(printedBlock(printed));
  });

  it('works twice in a row against the running demo, and leaves the shell where it was', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'gitops-readme-')), '.gitops');
    const printed: string[] = [];
    const runtime = await startDevRuntime({
      repo: resolve('examples'),
      stateDir,
      port: 0,
      intervalMs: 3_600_000,
      demo: true,
      logger: consoleLogger({ level: 'error', stream: { write: () => {} } }),
      out: (t) => printed.push(t),
      env: {},
    });
    try {
      await runtime.idle();
      const commands = printedBlock(printed.join(''));
      expect(commands.at(-1)).toBe(`npx gitops status --state ${stateDir}`);
      const applied = () => printed.join('').match(/^ {2}Applied {4}dev\/data → dev-data: 1 modified$/gm)?.length ?? 0;
      for (const attempt of [1, 2]) {
        const before = applied();
        // Asynchronously: the webhook the commands send is served by this very process.
        const shell = await run('bash', ['-c', `${commands.join('\n')}\npwd`], {
          cwd: process.cwd(),
          env: {
            ...process.env,
            GIT_AUTHOR_NAME: 'Reader',
            GIT_AUTHOR_EMAIL: 'reader@example.com',
            GIT_COMMITTER_NAME: 'Reader',
            GIT_COMMITTER_EMAIL: 'reader@example.com',
          },
        });
        expect(shell.stdout).toMatch(/^202 |"accepted":/m);
        expect(shell.stdout).toMatch(/dev\s+data\s+dev-data\s+Synced/);
        expect(shell.stdout.trimEnd().split('\n').at(-1)).toBe(process.cwd());
        await runtime.idle();
        expect(applied(), `run ${attempt}`).toBe(before + 1);
      }
    } finally {
      await runtime.close();
    }
  });
});
