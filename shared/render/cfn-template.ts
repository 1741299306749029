/**
 * Reads a CloudFormation template (JSON or YAML) into its long JSON form, exactly as CloudFormation itself would see
 * it: every short-form intrinsic (`!Ref`, `!Sub`, `!GetAtt`, ...) becomes its `Fn::` mapping, so what we hash, diff
 * and send is the same whatever the author wrote.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Node, type Tags } from 'yaml';
import { ConfigError, Reason } from '../errors.ts';
import type { CfnTemplate } from '../model.ts';
import { lineAt, parseYamlSource, type YamlSource, yamlToJs } from './yaml-source.ts';

export type { YamlSource } from './yaml-source.ts';

/** CloudFormation's limit for a template read from S3 (TemplateURL); a bigger file can never be deployed. */
export const MAX_TEMPLATE_BYTES = 1_048_576;

/**
 * Alias expansions allowed in one template, counted in produced nodes. CloudFormation itself refuses aliases; we
 * expand them (the body we send is JSON) but stop a "billion laughs" document long before it costs memory.
 */
export const MAX_ALIAS_EXPANSION_NODES = 10_000;

/** Short form → the long form's key. `!GetAtt`, `!GetAZs`, `!Condition` need extra shaping (see `longForm`). */
const INTRINSICS: Readonly<Record<string, string>> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!Sub': 'Fn::Sub',
  '!GetAtt': 'Fn::GetAtt',
  '!Join': 'Fn::Join',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!If': 'Fn::If',
  '!Equals': 'Fn::Equals',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Not': 'Fn::Not',
  '!FindInMap': 'Fn::FindInMap',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!GetAZs': 'Fn::GetAZs',
  '!ImportValue': 'Fn::ImportValue',
  '!Transform': 'Fn::Transform',
  '!ToJsonString': 'Fn::ToJsonString',
  '!Length': 'Fn::Length',
};

/**
 * Every short form is accepted on a scalar, a sequence and a mapping: the yaml package then keeps the node and its
 * tag, and `toLongForm` shapes it. Whether the argument has the right shape is CloudFormation's to judge, as it is
 * for the long form.
 */
const cfnTags: Tags = Object.keys(INTRINSICS).flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq' as const, resolve: (value: unknown) => value as Node },
  { tag, collection: 'map' as const, resolve: (value: unknown) => value as Node },
]);

/**
 * CloudFormation reads YAML 1.1 without timestamps, binary, omap, pairs and set, and with the boolean words of YAML
 * 1.1 parsers (`yes`/`no`/`on`/`off`, but not `y`/`n`). So `AWSTemplateFormatVersion: 2010-09-09` stays a string.
 */
const TEMPLATE_BOOL_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const TEMPLATE_BOOL_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
const DROPPED_1_1_TAGS = new Set([
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:timestamp',
  'tag:yaml.org,2002:merge',
]);

/**
 * Numbers as YAML 1.1 itself defines them (and PyYAML, cfn-lint and the AWS CLI read them), not the `yaml` package's
 * looser 1.1 rules: a float needs a dot (`E3014`, `1e5` are strings; the package read `E3014` as a float, NaN) and an
 * exponent needs its sign; a decimal integer has no leading zero (`0123456789` is a string, `0755` an octal number).
 */
const TEMPLATE_INT_DECIMAL = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const TEMPLATE_FLOAT = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)$/;
const TEMPLATE_FLOAT_EXP = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)[eE][-+][0-9]+$/;

function templateTags(base: Tags): Tags {
  const kept = base.flatMap((t) => {
    // The schema hands over tag objects; names (TagId) only appear in user option lists.
    if (typeof t === 'string' || DROPPED_1_1_TAGS.has(t.tag)) return [];
    if (!('test' in t) || !t.test) return [t];
    if (t.tag === 'tag:yaml.org,2002:bool') {
      const isTrue = t.test.test('yes') && t.test.test('true');
      return [{ ...t, test: isTrue ? TEMPLATE_BOOL_TRUE : TEMPLATE_BOOL_FALSE }];
    }
    // The decimal integer and the two float forms; binary, octal, hex, sexagesimal, .inf and .nan stay as they are.
    if (t.tag === 'tag:yaml.org,2002:int' && t.format === undefined) return [{ ...t, test: TEMPLATE_INT_DECIMAL }];
    if (t.tag === 'tag:yaml.org,2002:float' && t.format === 'EXP') return [{ ...t, test: TEMPLATE_FLOAT_EXP }];
    if (t.tag === 'tag:yaml.org,2002:float' && t.format === undefined && t.test.test('1.5')) {
      return [{ ...t, test: TEMPLATE_FLOAT }];
    }
    return [t];
  });
  return [...kept, ...cfnTags];
}

/**
 * Parses a template and returns its long form. Throws ConfigError `InvalidTemplate` (syntax, duplicate keys, unknown
 * tags, alias bombs, no `Resources`) naming file and line, or `LimitExceeded` for a file over 1 MB.
 */
export function parseTemplate(text: string, file: string): CfnTemplate {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEMPLATE_BYTES) {
    throw new ConfigError(
      Reason.LimitExceeded,
      `${file}: template is ${bytes} bytes; CloudFormation accepts at most ${MAX_TEMPLATE_BYTES} bytes (1 MB)`,
      { file },
    );
  }
  // JSON is YAML too: reading it with the same parser gives duplicate-key detection and line numbers for free.
  const source = parseYamlSource(text, file, Reason.InvalidTemplate, {
    schema: 'yaml-1.1',
    customTags: templateTags,
  });
  const value = new LongFormConverter(source).convert(source.doc.contents);
  if (!isPlainObject(value)) {
    throw new ConfigError(Reason.InvalidTemplate, `${file}:1: a template must be a mapping with a Resources section`, {
      file,
      line: 1,
    });
  }
  if (!isPlainObject(value['Resources'])) {
    const line = source.lineOf(['Resources']) ?? 1;
    throw new ConfigError(Reason.InvalidTemplate, `${file}:${line}: Resources: a template needs a Resources mapping`, {
      file,
      line,
      field: 'Resources',
    });
  }
  return value as CfnTemplate;
}

/** A template's YAML document, to map a value path back to its line (a policy failure found after rendering). */
export function templateSource(text: string, file: string): YamlSource {
  return parseYamlSource(text, file, Reason.InvalidTemplate, { schema: 'yaml-1.1', customTags: templateTags });
}

/** The line of a template path (`['Resources', 'Fn', 'Properties']`), for messages about a parsed template. */
export function templateLineOf(text: string, file: string): (path: readonly (string | number)[]) => number | undefined {
  const source = templateSource(text, file);
  return (path) => source.lineOf(path);
}

/** Reads a manifest (deployment file, `gitops.yaml`): plain YAML 1.2, no custom tags, same error shape. */
export function loadYaml(text: string, file: string): { value: unknown; source: YamlSource } {
  const source = parseYamlSource(text, file, Reason.InvalidConfig);
  return { value: yamlToJs(source, Reason.InvalidConfig), source };
}

class LongFormConverter {
  private expanded = 0;
  private aliasDepth = 0;

  constructor(private readonly source: YamlSource) {}

  convert(node: unknown): unknown {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.expandAlias(node);
    if (this.aliasDepth > 0 && ++this.expanded > MAX_ALIAS_EXPANSION_NODES) {
      throw this.error(node as Node, `aliases expand to more than ${MAX_ALIAS_EXPANSION_NODES} nodes (an alias bomb?)`);
    }
    if (isScalar(node)) {
      const tag = node.tag && INTRINSICS[node.tag] ? node.tag : undefined;
      // A tagged scalar is always text for CloudFormation (`!Ref 80` names "80"); `source` keeps what was written.
      if (tag) return longForm(tag, typeof node.value === 'string' ? node.value : String(node.source ?? ''));
      return this.plainScalar(node);
    }
    if (isSeq(node)) {
      const list = node.items.map((item) => this.convert(item));
      return this.wrap(node, list);
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = this.convert(pair.key);
        const name = key === null ? '' : typeof key === 'object' ? JSON.stringify(key) : String(key);
        // defineProperty: a key named `__proto__` must stay data, never a prototype.
        Object.defineProperty(out, name, {
          value: this.convert(pair.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      // `{"Fn::GetAZs": null}` (how YAML-to-JSON tools write an empty `!GetAZs`) is the documented `""`: the region's
      // zones. One spelling, so a template hashes and diffs the same whichever form it was written in.
      const keys = Object.keys(out);
      if (keys.length === 1 && keys[0] === 'Fn::GetAZs' && out['Fn::GetAZs'] === null) out['Fn::GetAZs'] = '';
      return this.wrap(node, out);
    }
    throw this.error(node as Node, 'unsupported YAML node');
  }

  private expandAlias(node: Parameters<typeof isAlias>[0] & { resolve(doc: unknown): unknown }): unknown {
    const target = node.resolve(this.source.doc);
    if (!target) throw this.error(node as unknown as Node, 'alias to an unknown anchor');
    this.aliasDepth++;
    try {
      return this.convert(target);
    } finally {
      this.aliasDepth--;
    }
  }

  private plainScalar(node: Node & { value: unknown }): unknown {
    const value = node.value;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      if (typeof value === 'number' && !Number.isFinite(value)) return String(node.toString());
      return value;
    }
    if (typeof value === 'bigint') return Number(value);
    throw this.error(node, `unsupported YAML value type ${node.tag ?? typeof value}`);
  }

  private wrap(node: Node, value: unknown): unknown {
    const tag = node.tag;
    return tag && INTRINSICS[tag] ? longForm(tag, value) : value;
  }

  private error(node: Node, message: string): ConfigError {
    const file = this.source.file;
    const line = node.range ? lineAt(this.source.lineCounter, node.range[0]) : undefined;
    return new ConfigError(Reason.InvalidTemplate, `${file}${line ? `:${line}` : ''}: ${message}`, {
      file,
      ...(line ? { line } : {}),
    });
  }
}

function longForm(tag: string, value: unknown): Record<string, unknown> {
  const key = INTRINSICS[tag]!;
  if (tag === '!GetAtt' && typeof value === 'string') {
    // `!GetAtt Res.Attr.With.Dots`: the logical id never has a dot, so split at the first one only.
    const dot = value.indexOf('.');
    return { [key]: dot < 0 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
  }
  if (tag === '!GetAZs' && (value === null || value === undefined)) return { [key]: '' };
  return { [key]: value };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
