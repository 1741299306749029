import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../stack/gitops-construct.ts';

/**
 * The layers of the developers' guide: stack/ is the CDK app and the only place importing aws-cdk-lib; the handlers
 * (functions/) and the core (shared/) are bundled into Lambda and never import stack/. Contracts both sides need
 * (shared/function-env.ts) live in shared/.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(resolve(PROJECT_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** Every module specifier of static imports, re-exports, dynamic imports and side-effect imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const re of [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
  ]) {
    for (const m of source.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

/** Imports in `source` (the text of `file`) that resolve into stack/ or name the CDK libraries. */
function forbiddenImports(file: string, source: string): string[] {
  return specifiers(source).filter((spec) => {
    if (/^(aws-cdk-lib|constructs|cdk-nag)(\/|$)/.test(spec)) return true;
    if (!spec.startsWith('.')) return false;
    const target = relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), spec));
    return target === 'stack' || target.startsWith('stack/');
  });
}

describe('layering', () => {
  const files = [...sourceFiles('functions'), ...sourceFiles('shared')];

  it('scans the handlers and the core', () => {
    expect(files).toContain('functions/webhook.ts');
    expect(files).toContain('shared/function-env.ts');
  });

  it('no file in functions/ or shared/ imports stack/ or the CDK', () => {
    const offenders = files.flatMap((f) =>
      forbiddenImports(f, readFileSync(resolve(PROJECT_ROOT, f), 'utf8')).map((spec) => `${f} imports '${spec}'`),
    );
    expect(offenders).toEqual([]);
  });

  it('recognises an import of stack/ in any form, and only those', () => {
    const fake = [
      "import { DetailType } from '../shared/events/catalog.ts';",
      "import { stackKey } from './stack-key.ts';",
      "import type { X } from '../../stack/parts/config.ts';",
      "export { Y } from '../../stack/gitops-construct.ts';",
      "const m = await import('../../stack/nag.ts');",
      "import { x } from '../stack/elsewhere.ts';",
      "import * as cdk from 'aws-cdk-lib';",
      "import '../../stack/app.ts';",
    ].join('\n');
    expect(forbiddenImports('functions/lib/example.ts', fake)).toEqual([
      '../../stack/parts/config.ts',
      '../../stack/gitops-construct.ts',
      'aws-cdk-lib',
      '../../stack/nag.ts',
      '../../stack/app.ts',
    ]);
  });
});
