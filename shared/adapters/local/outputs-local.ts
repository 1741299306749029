/**
 * Stack outputs computed without AWS, for the `local` target. This is the local emulation of what CloudFormation
 * would report, deterministic so that dependent stacks (`outputParameters`) and tests see stable values:
 *
 * - a literal Value is itself;
 * - `Ref` to a parameter is the parameter's value (its Default when not sent; `****` for NoEcho parameters, which
 *   must not end up in the state folder);
 * - `Ref` to a resource is a physical-id-like `<stackName>-<LogicalId>`;
 * - `Ref` to `AWS::StackName` / `AWS::Region` is the stack name / region; other pseudo parameters become
 *   `<stackName>.<Pseudo>`;
 * - `Fn::GetAtt` is `<stackName>.<LogicalId>.<Attribute>`;
 * - `Fn::Sub` substitutes the same values into its string, `Fn::Join` and `Fn::Select` are evaluated;
 * - anything else (`Fn::ImportValue`, conditions, …) is `<stackName>.<OutputName>`, as no local value exists for it.
 */
import type { RenderedStack } from '../../model.ts';

interface Context {
  readonly stack: RenderedStack;
  readonly outputName: string;
}

export function localOutputs(stack: RenderedStack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(stack.template.Outputs ?? {})) {
    const value = spec && typeof spec === 'object' ? (spec as { Value?: unknown }).Value : undefined;
    out[name] = resolve(value, { stack, outputName: name });
  }
  return out;
}

function resolve(value: unknown, ctx: Context): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => resolve(v, ctx)).join(',');
  if (typeof value !== 'object') return opaque(ctx);
  const entries = Object.entries(value);
  if (entries.length !== 1) return opaque(ctx);
  const [fn, arg] = entries[0]!;
  switch (fn) {
    case 'Ref':
      return typeof arg === 'string' ? ref(arg, ctx) : opaque(ctx);
    case 'Fn::GetAtt': {
      const [id, ...attr] = Array.isArray(arg) ? arg.map(String) : typeof arg === 'string' ? arg.split('.') : [];
      return id && attr.length ? `${ctx.stack.stackName}.${id}.${attr.join('.')}` : opaque(ctx);
    }
    case 'Fn::Sub':
      return sub(arg, ctx);
    case 'Fn::Join': {
      if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) return opaque(ctx);
      return (arg[1] as unknown[]).map((v) => resolve(v, ctx)).join(String(arg[0]));
    }
    case 'Fn::Select': {
      if (!Array.isArray(arg) || arg.length !== 2 || !Array.isArray(arg[1])) return opaque(ctx);
      const item = (arg[1] as unknown[])[Number(resolve(arg[0], ctx))];
      return item === undefined ? opaque(ctx) : resolve(item, ctx);
    }
    default:
      return opaque(ctx);
  }
}

function ref(name: string, ctx: Context): string {
  const { stack } = ctx;
  if (name === 'AWS::StackName') return stack.stackName;
  if (name === 'AWS::Region') return stack.region;
  if (name.startsWith('AWS::')) return `${stack.stackName}.${name}`;
  const param = stack.template.Parameters?.[name];
  if (param) {
    if (param.NoEcho === true || param.NoEcho === 'true') return '****';
    const sent = stack.parameters[name];
    if (sent !== undefined) return sent;
    return param.Default === undefined ? '' : resolve(param.Default, ctx);
  }
  return `${stack.stackName}-${name}`;
}

function sub(arg: unknown, ctx: Context): string {
  const [text, vars] = Array.isArray(arg) ? [arg[0], (arg[1] ?? {}) as Record<string, unknown>] : [arg, {}];
  if (typeof text !== 'string') return opaque(ctx);
  // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
  return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, body: string) => {
    if (bang) return '${' + body + '}';
    if (Object.hasOwn(vars, body)) return resolve(vars[body], ctx);
    const dot = body.indexOf('.');
    if (dot > 0 && !body.startsWith('AWS::')) return `${ctx.stack.stackName}.${body}`;
    return ref(body, ctx);
  });
}

function opaque(ctx: Context): string {
  return `${ctx.stack.stackName}.${ctx.outputName}`;
}
