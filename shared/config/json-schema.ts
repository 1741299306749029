/**
 * JSON Schemas for editors (yaml-language-server, VS Code), generated from the zod schemas that the loader uses, so
 * completion and validation in the editor are the loader's own rules.
 */
import * as z from 'zod';
import { installationPolicySchema } from '../policy/schema.ts';
import { deploymentFileSchema, gitopsFileSchema } from './schema.ts';

function toJsonSchema(schema: z.ZodType, title: string): Record<string, unknown> {
  // `io: 'input'`: what the user writes (before the loader turns numbers into text); transforms are not JSON Schema.
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return { ...json, title };
}

/** The schema documents, by the file name they are written to under `schema/`. */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  return {
    'gitops.schema.json': toJsonSchema(gitopsFileSchema, 'lambda-gitops gitops.yaml'),
    'deployment-file.schema.json': toJsonSchema(deploymentFileSchema, 'CloudFormation Git sync deployment file'),
    'policy.schema.json': toJsonSchema(installationPolicySchema, 'lambda-gitops installation policy'),
  };
}

/** The exact text written to disk (stable: 2-space JSON and a final newline). */
export function jsonSchemaText(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
