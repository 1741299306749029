/**
 * Real public templates that ship as both YAML and JSON (test/fixtures/cfn-corpus, copied with their licence from
 * aws-cloudformation/aws-cloudformation-templates): the YAML must render to exactly what its JSON twin renders to.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../shared/render/cfn-template.ts';

const ROOT = 'test/fixtures/cfn-corpus/aws-cloudformation-templates';

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });

const pairs = walk(ROOT)
  .filter((p) => p.endsWith('.json'))
  .map((json) => {
    const yaml = [json.replace(/\.json$/, '.yaml'), json.replace(/\.json$/, '.yml')].find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    return { name: relative(ROOT, json).replace(/\.json$/, ''), json, yaml: yaml as string };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/**
 * Where the twin is not what CloudFormation reads. The JSON files were written by a YAML 1.2 tool, which keeps the
 * unquoted YAML 1.1 booleans `Yes` and `No` as strings; CloudFormation reads them as booleans (the AWS CLI quotes them
 * for that reason, aws/aws-cli#5257), and so do we.
 */
const YAML_1_1_BOOLEANS: Readonly<Record<string, readonly string[]>> = {
  'NeptuneDB/Neptune': [
    'Conditions.EnableAuditLogUpload.Fn::Equals.1',
    'Parameters.UploadAuditLogs.AllowedValues.0',
    'Parameters.UploadAuditLogs.AllowedValues.1',
    'Parameters.UploadAuditLogs.Default',
  ],
};

/** Paths where the two values differ, with both values. */
function differences(a: unknown, b: unknown, path = ''): [string, unknown, unknown][] {
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
    );
  }
  return Object.is(a, b) ? [] : [[path, a, b]];
}

const render = (path: string) => parseTemplate(readFileSync(path, 'utf8'), path);

function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);
}

describe('the YAML of real public templates renders equal to its JSON twin', () => {
  it('has the corpus: pairs with their licence', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(90);
    expect(pairs.every((p) => p.yaml)).toBe(true);
    expect(readFileSync(join(ROOT, 'LICENSE.txt'), 'utf8')).toContain('Apache License');
  });

  it.each(pairs.filter((p) => !YAML_1_1_BOOLEANS[p.name]))('$name', ({ json, yaml }) => {
    expect(render(yaml)).toEqual(render(json));
  });

  it.each(Object.entries(YAML_1_1_BOOLEANS))('%s, with YAML 1.1 booleans where its twin has strings', (name, paths) => {
    const pair = pairs.find((p) => p.name === name)!;
    const found = differences(render(pair.yaml), render(pair.json)).sort(([a], [b]) => a.localeCompare(b));
    expect(found.map(([path]) => path)).toEqual(paths);
    for (const [, fromYaml, fromJson] of found) expect(fromJson).toBe(fromYaml ? 'Yes' : 'No');
  });

  it('keeps cfn-lint metadata codes as strings (the E3014 of AutoScalingMultiAZWithNotifications)', () => {
    const template = render(join(ROOT, 'AutoScaling/AutoScalingMultiAZWithNotifications.yaml'));
    expect(at(template, 'Resources.WebServerGroup.Metadata.cfn-lint.config.ignore_checks')).toEqual(['E3014']);
  });
});
