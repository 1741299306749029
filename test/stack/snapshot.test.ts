import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FULL_PROPS, makeStack } from './app-fixture.ts';

/** Asset hashes change with every byte of the bundles and of CDK itself; the snapshot is about the shape. */
function stripAssetHashes(value: unknown): unknown {
  const json = JSON.stringify(value).replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1');
  return JSON.parse(json);
}

describe('template', () => {
  it('matches the snapshot (asset hashes stripped)', () => {
    const { stack } = makeStack(FULL_PROPS);
    expect(stripAssetHashes(Template.fromStack(stack).toJSON())).toMatchSnapshot();
  });
});

describe('bundling', () => {
  it('bundles every function with the local esbuild as minified ESM with a source map', () => {
    const { app } = makeStack({}, { bundle: true });
    const assembly = app.synth();
    const assets = readdirSync(assembly.directory).filter((d) => d.startsWith('asset.'));
    const bundles = assets.filter((d) => readdirSync(join(assembly.directory, d)).includes('index.mjs'));
    // The five functions share one stand-in entry, so identical bundles may share one asset directory.
    expect(bundles.length).toBeGreaterThanOrEqual(1);
    for (const dir of bundles) {
      const files = readdirSync(join(assembly.directory, dir));
      expect(files).toContain('index.mjs.map');
      const code = readFileSync(join(assembly.directory, dir, 'index.mjs'), 'utf8');
      expect(code).toContain('createRequire');
      expect(code).toContain('sourceMappingURL=index.mjs.map');
    }
  });
});
