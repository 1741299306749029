/**
 * Parameter values for one stack in one environment: merged from their layers, checked against the template's
 * Parameters the way CloudFormation would check them (so a bad value fails the render, not a change set minutes
 * later), with `ssm:` and `output:` references turned into what CloudFormation and the applier expect.
 */
import { ConfigError, Reason } from '../errors.ts';
import type { CfnParameter, CfnTemplate } from '../model.ts';
import type { PatternMatcher } from './linear-pattern.ts';

/** CloudFormation's limit for one parameter value. */
export const MAX_PARAMETER_VALUE_BYTES = 4096;

/** One layer of values and the file it was written in; later layers win. */
export interface ParameterLayer {
  readonly file: string;
  readonly values: Readonly<Record<string, string>>;
  /** Values for parameters the template does not declare are ignored instead of refused (environment-wide values). */
  readonly onlyDeclared?: boolean;
}

export interface ResolvedParameters {
  readonly parameters: Record<string, string>;
  /** parameter → `stack.OutputName`. */
  readonly outputParameters: Record<string, string>;
  /** The template, with the Type of `ssm:` parameters rewritten (the input is never modified). */
  readonly template: CfnTemplate;
  /** Where each final value came from, for messages. */
  readonly origins: Record<string, string>;
}

export interface ResolveContext {
  readonly templateFile: string;
  /** Stacks this one depends on: `output:` may only name these. */
  readonly dependsOn: readonly string[];
  /**
   * The linear-time engine for `AllowedPattern` (loadPatternMatcher); required when the template declares one, so a
   * pusher's pattern never reaches JavaScript's backtracking RegExp.
   */
  readonly matchPattern?: PatternMatcher;
}

const OUTPUT_REF = /^output:([A-Za-z0-9][A-Za-z0-9_.-]*)\.([A-Za-z0-9]+)$/;
const SSM_NAME = /^[A-Za-z0-9_.\-/]{1,2048}$/;

export function resolveParameters(
  template: CfnTemplate,
  layers: readonly ParameterLayer[],
  context: ResolveContext,
): ResolvedParameters {
  const declared = template.Parameters ?? {};
  const merged: Record<string, { value: string; file: string }> = {};
  const problems: ConfigError[] = [];
  const fail = (reason: Reason, file: string, name: string, message: string) =>
    problems.push(
      new ConfigError(reason, `${file}: parameters.${name}: ${message}`, { file, field: `parameters.${name}` }),
    );

  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer.values)) {
      if (!Object.hasOwn(declared, name)) {
        if (!layer.onlyDeclared) {
          fail(
            Reason.InvalidParameter,
            layer.file,
            name,
            `the template ${context.templateFile} has no parameter "${name}"`,
          );
        }
        continue;
      }
      merged[name] = { value, file: layer.file };
    }
  }

  const parameters: Record<string, string> = {};
  const outputParameters: Record<string, string> = {};
  const origins: Record<string, string> = {};
  const typeRewrites: Record<string, string> = {};
  for (const [name, { value, file }] of Object.entries(merged)) {
    origins[name] = file;
    const spec = declared[name]!;
    if (Buffer.byteLength(value, 'utf8') > MAX_PARAMETER_VALUE_BYTES) {
      fail(
        Reason.LimitExceeded,
        file,
        name,
        `value is over ${MAX_PARAMETER_VALUE_BYTES} bytes (CloudFormation's limit)`,
      );
      continue;
    }
    if (/^(?:ssm-secure|secretsmanager):/.test(value)) {
      const kind = value.slice(0, value.indexOf(':'));
      fail(
        Reason.InvalidParameter,
        file,
        name,
        `"${kind}:" values cannot be passed as parameters; reference the secret in the template with a dynamic reference such as {{resolve:${kind}:<name>}}`,
      );
      continue;
    }
    if (value.startsWith('output:')) {
      const ref = OUTPUT_REF.exec(value);
      if (!ref) {
        fail(Reason.InvalidParameter, file, name, `"${value}" is not of the form output:<stack>.<OutputName>`);
      } else if (!context.dependsOn.includes(ref[1]!)) {
        fail(
          Reason.UnknownDependency,
          file,
          name,
          `takes an output of stack "${ref[1]}", so the stack must list "${ref[1]}" in dependsOn`,
        );
      } else outputParameters[name] = `${ref[1]}.${ref[2]}`;
      continue;
    }
    if (value.startsWith('ssm:')) {
      const path = value.slice('ssm:'.length);
      if (!SSM_NAME.test(path)) {
        fail(Reason.InvalidParameter, file, name, `"${path}" is not a valid SSM parameter name`);
        continue;
      }
      parameters[name] = path;
      const type = ssmType(spec.Type);
      if (type !== spec.Type) typeRewrites[name] = type;
      continue;
    }
    const problem = checkValue(spec, value, context.matchPattern);
    if (problem) fail(Reason.InvalidParameter, file, name, problem);
    else parameters[name] = value;
  }

  for (const [name, spec] of Object.entries(declared)) {
    if (spec.Default === undefined && !(name in merged)) {
      problems.push(
        new ConfigError(
          Reason.InvalidParameter,
          `${context.templateFile}: Parameters.${name}: required parameter "${name}" (no Default) has no value`,
          { file: context.templateFile, field: `Parameters.${name}` },
        ),
      );
    }
  }

  if (problems.length > 0) {
    const first = problems[0]!;
    if (problems.length === 1) throw first;
    throw new ConfigError(first.reason, problems.map((p) => p.message).join('\n'), {
      ...(first.file ? { file: first.file } : {}),
      ...(first.field ? { field: first.field } : {}),
    });
  }

  let rendered = template;
  if (Object.keys(typeRewrites).length > 0) {
    const params: Record<string, CfnParameter> = { ...declared };
    for (const [name, type] of Object.entries(typeRewrites)) params[name] = { ...declared[name]!, Type: type };
    rendered = { ...template, Parameters: params };
  }
  return { parameters, outputParameters, template: rendered, origins };
}

/** The SSM-backed type for a parameter type: `String` → `AWS::SSM::Parameter::Value<String>`, and so on. */
export function ssmType(type: string): string {
  if (type.startsWith('AWS::SSM::Parameter::')) return type;
  if (type === 'CommaDelimitedList' || type === 'List<Number>') return 'AWS::SSM::Parameter::Value<List<String>>';
  // Number has no SSM form; the value arrives as text, which is what CloudFormation passes to resources anyway.
  if (type === 'String' || type === 'Number') return 'AWS::SSM::Parameter::Value<String>';
  // AWS-specific types (`AWS::EC2::Image::Id`, `List<AWS::EC2::Subnet::Id>`) have a typed SSM form.
  return `AWS::SSM::Parameter::Value<${type}>`;
}

/** CloudFormation's own checks of a plain value; the problem, or undefined. */
export function checkValue(spec: CfnParameter, value: string, matchPattern?: PatternMatcher): string | undefined {
  const type = spec.Type;
  const isList = type === 'CommaDelimitedList' || type.startsWith('List<');
  const items = isList ? value.split(',').map((s) => s.trim()) : [value];
  const numeric = type === 'Number' || type === 'List<Number>';
  for (const item of items) {
    if (numeric && (item === '' || !Number.isFinite(Number(item)))) {
      return `"${item}" is not a number (type ${type})`;
    }
    if (spec.AllowedValues && !spec.AllowedValues.map(String).includes(item)) {
      return `"${item}" is not one of AllowedValues [${spec.AllowedValues.map(String).join(', ')}]`;
    }
    if (numeric) {
      const n = Number(item);
      if (spec.MinValue !== undefined && n < Number(spec.MinValue))
        return `${item} is less than MinValue ${spec.MinValue}`;
      if (spec.MaxValue !== undefined && n > Number(spec.MaxValue))
        return `${item} is more than MaxValue ${spec.MaxValue}`;
    }
  }
  if (type === 'String') {
    if (spec.MinLength !== undefined && value.length < Number(spec.MinLength)) {
      return `value is shorter than MinLength ${spec.MinLength}`;
    }
    if (spec.MaxLength !== undefined && value.length > Number(spec.MaxLength)) {
      return `value is longer than MaxLength ${spec.MaxLength}`;
    }
  }
  if (spec.AllowedPattern !== undefined && (type === 'String' || type === 'CommaDelimitedList')) {
    if (!matchPattern) throw new Error('checkValue: an AllowedPattern needs the linear-time pattern engine');
    const pattern = String(spec.AllowedPattern);
    // CloudFormation matches the whole value (Java regex); a pattern RE2 cannot compile is left to it.
    const subjects = type === 'String' ? [value] : items;
    if (subjects.some((subject) => matchPattern(pattern, subject) === false)) {
      return `value does not match AllowedPattern ${spec.AllowedPattern}`;
    }
  }
  return undefined;
}
