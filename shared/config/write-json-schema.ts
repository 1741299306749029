/**
 * `npm run schema`: writes the JSON Schemas under `schema/`. A test fails when the committed files differ from what
 * this would write, so run it after changing `schema.ts`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas, jsonSchemaText } from './json-schema.ts';

const outDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema');
await mkdir(outDir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  const path = join(outDir, name);
  await writeFile(path, jsonSchemaText(schema));
  console.log(`wrote ${path}`);
}
