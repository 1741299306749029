import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../stack/gitops-construct.ts';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'gitops-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// The real thing: `cdk synth` through cdk.json with the project's functions, offline, cdk-nag included.
// It needs functions/*.ts; it bundles all five with esbuild, so it gets a generous timeout.
describe('npx cdk synth', () => {
  it('synthesizes offline with the local esbuild, never Docker, and passes cdk-nag', { timeout: 240_000 }, async () => {
    const { stdout, stderr } = await run(
      'npx',
      ['--no-install', 'cdk', 'synth', '--quiet', '--no-notices', '--output', out],
      { cwd: PROJECT_ROOT, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' }, maxBuffer: 64 * 1024 * 1024 },
    );
    const log = `${stdout}\n${stderr}`;
    expect(log).not.toMatch(/docker/i);
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    expect(templates).toEqual(['LambdaGitOps.template.json']);
    const template = JSON.parse(readFileSync(join(out, templates[0]!), 'utf8'));
    const functions = Object.values<{ Type: string }>(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(6);
    const bundles = readdirSync(out)
      .filter((d) => d.startsWith('asset.'))
      .filter((d) => readdirSync(join(out, d)).includes('index.mjs'));
    expect(bundles).toHaveLength(6);
    for (const dir of bundles) {
      const code = readFileSync(join(out, dir, 'index.mjs'), 'utf8');
      // The SDK's default credential chain is aliased to the environment provider (functions/lib/lambda-credentials.ts):
      // its SSO and profile code, and its "no provider answered" message, are not in any bundle.
      expect(code).toContain('AWS_SECRET_ACCESS_KEY');
      expect(code).not.toContain('sso_start_url');
      expect(code).not.toContain('Could not load credentials from any providers');
      // Identifiers are kept for readable stack traces; whitespace is minified.
      expect(code).toContain('function functionLogger(');
      expect(readdirSync(join(out, dir))).toContain('index.mjs.map');
    }
  });
});
