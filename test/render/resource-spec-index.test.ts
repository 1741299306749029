/**
 * The resource specification index the built CLI checks templates against (dist/spec/, written by bin/spec-index.js
 * at build time; the test setup builds it) says what `@aws-cdk/aws-service-spec`'s database says: every resource
 * type, each property's name, required flag and type, and the property types they reference.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadResourceSpec } from '../../shared/render/resource-spec.ts';

interface Type {
  type: string;
  element?: Type;
  reference?: unknown;
}
interface Shape {
  properties: Record<string, { type: Type; required?: boolean }>;
}
interface IndexFile {
  resources: Record<string, Shape>;
  definitions: Record<string, Shape>;
}
interface Db {
  all(table: 'resource'): (Shape & { cloudFormationType: string })[];
  get(table: 'typeDefinition', ref: unknown): Shape;
}

const DIR = resolve('dist/spec');

function read(file: string): IndexFile {
  return JSON.parse(readFileSync(`${DIR}/${file}.json`, 'utf8')) as IndexFile;
}

/** A shape as the check reads it, references followed (once each, as definitions may refer to themselves). */
function flatten(shape: Shape, definition: (ref: unknown) => Shape, seen = new Set<string>()): unknown {
  const type = (t: Type): unknown => {
    if (t.type === 'array') return ['array', t.element ? type(t.element) : null];
    if (t.type !== 'ref') return t.type;
    const ref = typeof t.reference === 'object' ? (t.reference as { $ref: string }).$ref : String(t.reference);
    if (seen.has(ref)) return ['ref', ref];
    seen.add(ref);
    return ['ref', flatten(definition(t.reference), definition, seen)];
  };
  return Object.fromEntries(
    Object.entries(shape.properties)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, p]) => [name, [p.required === true, type(p.type)]]),
  );
}

describe('the resource specification index in dist/spec', () => {
  it('has every AWS resource type of the database, with the same properties, required flags and types', async () => {
    const db = (await loadResourceSpec()) as unknown as Db;
    const { services } = JSON.parse(readFileSync(`${DIR}/index.json`, 'utf8')) as { services: string[] };
    const files = new Map(services.map((s) => [s, read(s)]));
    const indexed = [...files.values()].flatMap((f) => Object.keys(f.resources));
    const types = db
      .all('resource')
      .map((r) => r.cloudFormationType)
      .filter((t) => t.startsWith('AWS::'));
    expect(indexed.sort()).toEqual([...types].sort());
    expect(indexed.length).toBeGreaterThan(1000);
    for (const resource of db.all('resource')) {
      const type = resource.cloudFormationType;
      if (!type.startsWith('AWS::')) continue;
      const file = files.get(type.split('::')[1]!.toLowerCase())!;
      const fromIndex = flatten(file.resources[type]!, (ref) => file.definitions[String(ref)]!);
      const fromDb = flatten(resource, (ref) => db.get('typeDefinition', ref));
      expect(fromIndex, type).toEqual(fromDb);
    }
  });
});
