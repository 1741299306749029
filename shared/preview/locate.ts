/**
 * The line of a failure that names a file and a field but no line: the installation policy checks rendered stacks,
 * so its errors say `templates/data.yaml` and `Resources.Admin.Type`, or `gitops.yaml` and
 * `environments[prod].role`. A reviewer wants the line; it is looked up in the head's file. Best effort: a file that
 * cannot be read or a field that cannot be followed leaves the failure as it was.
 */
import { GITOPS_FILE } from '../config/load.ts';
import type { RepoTree } from '../config/repo-tree.ts';
import { loadYaml, templateSource } from '../render/cfn-template.ts';
import type { YamlSource } from '../render/yaml-source.ts';
import type { PreviewFailure } from './types.ts';

/** Field paths are short; anything longer is not one the checks wrote. */
const MAX_FIELD_LENGTH = 512;

export async function withLine(failure: PreviewFailure, tree: RepoTree, field: string | undefined) {
  if (failure.line !== undefined || failure.file === undefined || field === undefined) return failure;
  if (field.length > MAX_FIELD_LENGTH || tree.get(failure.file) === undefined) return failure;
  try {
    const text = await tree.readText(failure.file);
    const line =
      failure.file === GITOPS_FILE
        ? manifestLine(loadYaml(text, failure.file), field)
        : lineOf(templateSource(text, failure.file), field, undefined);
    return line === undefined ? failure : { ...failure, line };
  } catch {
    return failure;
  }
}

function manifestLine(loaded: { value: unknown; source: YamlSource }, field: string): number | undefined {
  return lineOf(loaded.source, field, loaded.value);
}

/**
 * `Resources.Admin.Type` → ['Resources', 'Admin', 'Type']; `environments[prod].role` → ['environments', i, 'role']
 * where item i of the list is named `prod` (a mapping keyed by name is followed by the key).
 */
function lineOf(source: YamlSource, field: string, value: unknown): number | undefined {
  const path: PropertyKey[] = [];
  let node: unknown = value;
  for (const segment of field.split('.')) {
    const match = /^([^[\]]+)(?:\[([^[\]]+)\])?$/.exec(segment);
    if (!match) return undefined;
    const [, key, name] = match as unknown as [string, string, string | undefined];
    path.push(key);
    node = child(node, key);
    if (name !== undefined) {
      const index = Array.isArray(node)
        ? node.findIndex((item) => (item as { name?: unknown } | null)?.name === name)
        : -1;
      path.push(index >= 0 ? index : name);
      node = index >= 0 ? (node as unknown[])[index] : child(node, name);
    }
  }
  return source.lineOf(path);
}

const child = (node: unknown, key: string): unknown =>
  node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
