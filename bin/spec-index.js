// Writes the resource specification index the `gitops` CLI checks templates against: one small JSON file per AWS
// service (dist/spec/<service>.json: its resource types, their property names, required flags and types, and the
// property types they reference), derived at build time from `@aws-cdk/aws-service-spec`. Loading that package's
// whole database takes 0.5-1.5 s and 150 MB per process; `gitops render` of an SQS stack reads dist/spec/sqs.json
// (a few KB) instead. Only what shared/render/resource-spec.ts judges is kept. Plain JavaScript: bin/build.js runs it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The type as the check reads it: its kind, a list's element, a reference's definition id. Nothing else. */
function typeOf(t) {
  const out = { type: t.type };
  if (t.type === 'array' && t.element) out.element = typeOf(t.element);
  if (t.type === 'ref') out.reference = t.reference.$ref;
  return out;
}

function shapeOf(entity, refs) {
  const properties = {};
  for (const [name, p] of Object.entries(entity.properties ?? {})) {
    const type = typeOf(p.type);
    properties[name] = p.required ? { type, required: true } : { type };
    collectRefs(type, refs);
  }
  return { properties };
}

function collectRefs(type, refs) {
  if (type.reference !== undefined) refs.add(type.reference);
  if (type.element) collectRefs(type.element, refs);
}

/** `AWS::SQS::Queue` → `sqs`: the file its service's types are in. */
export function serviceFileOf(cloudFormationType) {
  return cloudFormationType.split('::')[1].toLowerCase();
}

export async function buildSpecIndex(outDir) {
  const { loadAwsServiceSpec } = await import('@aws-cdk/aws-service-spec');
  const require = createRequire(import.meta.url);
  const { version } = require('@aws-cdk/aws-service-spec/package.json');
  const db = await loadAwsServiceSpec();
  const services = new Map();
  for (const resource of db.all('resource')) {
    const type = resource.cloudFormationType;
    if (!/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/.test(type)) continue;
    const file = serviceFileOf(type);
    if (!services.has(file)) services.set(file, { resources: {}, definitions: {}, refs: new Set() });
    const service = services.get(file);
    service.resources[type] = shapeOf(resource, service.refs);
  }
  mkdirSync(outDir, { recursive: true });
  for (const [file, service] of services) {
    // Definitions reference definitions: walk until every reachable one is in the file.
    const pending = [...service.refs];
    while (pending.length) {
      const id = pending.pop();
      if (id in service.definitions) continue;
      const refs = new Set();
      service.definitions[id] = shapeOf(db.get('typeDefinition', id), refs);
      for (const r of refs) if (!(r in service.definitions)) pending.push(r);
    }
    writeFileSync(
      `${outDir}/${file}.json`,
      JSON.stringify({ resources: service.resources, definitions: service.definitions }),
    );
  }
  writeFileSync(
    `${outDir}/index.json`,
    JSON.stringify({ source: `@aws-cdk/aws-service-spec@${version}`, services: [...services.keys()].sort() }),
  );
}
