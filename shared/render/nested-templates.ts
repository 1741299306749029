/**
 * Nested templates that live in the repository: `AWS::CloudFormation::Stack` `TemplateURL: ./network.yaml` and
 * `AWS::Serverless::Application` `Location: ./app.yaml`, as `aws cloudformation package` reads them (a path relative
 * to the template that names it). They are read and parsed by the same rules as a top-level template, walked to any
 * depth within bounds, and their files become inputs of the stack: a change to a nested template re-renders the
 * stacks that use it, and the capabilities it needs are the parent's.
 */
import { posix } from 'node:path';
import type { RepoTree } from '../config/repo-tree.ts';
import { ConfigError, Reason } from '../errors.ts';
import type { CfnTemplate } from '../model.ts';
import { parseTemplate } from './cfn-template.ts';

/** Nesting deeper than this is refused (CloudFormation itself allows 5 levels below the root in practice). */
export const MAX_NESTING_DEPTH = 5;
/** Nested templates read for one stack, all levels. */
export const MAX_NESTED_TEMPLATES = 50;

/** Resource types whose property points at a nested template, as `aws cloudformation package` handles them. */
export const NESTED_TEMPLATE_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::CloudFormation::Stack': 'TemplateURL',
  'AWS::Serverless::Application': 'Location',
};

export interface NestedTemplate {
  /** The template's path in the tree (symlinks followed). */
  readonly path: string;
  /** The template that names it, and where. */
  readonly parentFile: string;
  readonly logicalId: string;
  readonly property: string;
  readonly template: CfnTemplate;
  /** Tree entries read to get it (symlinks and the file), path → blob id. */
  readonly oids: Readonly<Record<string, string>>;
  /** Nesting level: 1 for a template the stack's own template names. */
  readonly depth: number;
}

/** A property value that is a path in the repository rather than a URL (`https://`, `s3://`) or an intrinsic. */
export function localPathOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  return value;
}

/**
 * Resolves `reference` (written in `fromFile`) to a repository path: relative to the directory of `fromFile`, never
 * above the repository root, never absolute.
 */
export function repoPathFrom(fromFile: string, reference: string, field: string): string {
  const where = { file: fromFile, field };
  if (reference.startsWith('/') || /^[A-Za-z]:[\\/]/.test(reference) || reference.startsWith('\\')) {
    throw new ConfigError(
      Reason.PathEscape,
      `${fromFile}: ${field}: "${reference}" is absolute; use a path relative to the template`,
      where,
    );
  }
  const joined = posix.normalize(posix.join(posix.dirname(fromFile), reference.replaceAll('\\', '/')));
  if (joined === '..' || joined.startsWith('../') || joined === '.' || joined === '') {
    throw new ConfigError(
      Reason.PathEscape,
      `${fromFile}: ${field}: "${reference}" leaves the repository; paths must stay inside it`,
      where,
    );
  }
  return joined;
}

/** Every local nested template below `template` (which was read from `file`), depth first. */
export async function readNestedTemplates(
  tree: RepoTree,
  file: string,
  template: CfnTemplate,
  cache: Map<string, Promise<CfnTemplate>> = new Map(),
): Promise<NestedTemplate[]> {
  const out: NestedTemplate[] = [];
  await walk(tree, file, template, 1, [file], out, cache);
  return out;
}

async function walk(
  tree: RepoTree,
  file: string,
  template: CfnTemplate,
  depth: number,
  chain: readonly string[],
  out: NestedTemplate[],
  cache: Map<string, Promise<CfnTemplate>>,
): Promise<void> {
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const property = NESTED_TEMPLATE_PROPERTIES[typeof resource?.Type === 'string' ? resource.Type : ''];
    if (!property) continue;
    const props = resource.Properties as Record<string, unknown> | undefined;
    const reference = localPathOf(props?.[property]);
    if (reference === undefined) continue;
    const field = `Resources.${logicalId}.Properties.${property}`;
    if (depth > MAX_NESTING_DEPTH) {
      throw new ConfigError(
        Reason.LimitExceeded,
        `${file}: ${field}: nested templates go deeper than ${MAX_NESTING_DEPTH} levels`,
        { file, field },
      );
    }
    if (out.length >= MAX_NESTED_TEMPLATES) {
      throw new ConfigError(
        Reason.LimitExceeded,
        `${file}: ${field}: more than ${MAX_NESTED_TEMPLATES} nested templates in one stack`,
        { file, field },
      );
    }
    const path = repoPathFrom(file, reference, field);
    const resolved = await tree.resolve(path, { file, field });
    const target = resolved.entry.path;
    if (chain.includes(target)) {
      throw new ConfigError(
        Reason.InvalidTemplate,
        `${file}: ${field}: "${reference}" nests ${[...chain, target].join(' → ')}, a cycle`,
        { file, field },
      );
    }
    let parsed = cache.get(target);
    if (!parsed) {
      parsed = tree.readText(target).then((text) => parseTemplate(text, target));
      cache.set(target, parsed);
    }
    const nested = await parsed;
    out.push({
      path: target,
      parentFile: file,
      logicalId,
      property,
      template: nested,
      oids: Object.fromEntries(resolved.via.map((e) => [e.path, e.oid])),
      depth,
    });
    await walk(tree, target, nested, depth + 1, [...chain, target], out, cache);
  }
}
