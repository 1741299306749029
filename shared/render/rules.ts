/**
 * Template `Rules`, evaluated as CloudFormation evaluates them before it creates or updates a stack: when a rule's
 * `RuleCondition` holds (or it has none), every `Assert` must hold, or the operation is refused with the
 * `AssertDescription`. Values lambda-gitops cannot know offline (SSM parameters, dependency outputs, `Fn::ValueOf`
 * on live resources, the account id) make an expression unknown, and an unknown rule is left to CloudFormation.
 */
import type { CfnTemplate } from '../model.ts';

export interface RuleViolation {
  readonly rule: string;
  /** Index of the failing assertion. */
  readonly assertion: number;
  readonly message: string;
}

type Value = string | string[] | boolean | undefined;
const UNKNOWN = undefined;

/** Values of the stack's parameters as CloudFormation will see them; undefined where only CloudFormation knows. */
export function parameterValuesForRules(
  template: CfnTemplate,
  parameters: Readonly<Record<string, string>>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, spec] of Object.entries(template.Parameters ?? {})) {
    if (spec.Type.startsWith('AWS::SSM::Parameter::')) out[name] = UNKNOWN;
    else if (name in parameters) out[name] = parameters[name];
    else if (spec.Default !== undefined)
      out[name] = Array.isArray(spec.Default) ? spec.Default.join(',') : String(spec.Default);
    else out[name] = UNKNOWN;
  }
  return out;
}

export function evaluateRules(
  template: CfnTemplate,
  values: Readonly<Record<string, string | undefined>>,
  pseudo: { readonly region: string; readonly stackName: string },
): RuleViolation[] {
  const rules = template['Rules'];
  if (!rules || typeof rules !== 'object') return [];
  const listTypes = new Set(
    Object.entries(template.Parameters ?? {})
      .filter(([, p]) => p.Type === 'CommaDelimitedList' || p.Type.startsWith('List<'))
      .map(([name]) => name),
  );
  const ref = (name: unknown): Value => {
    if (name === 'AWS::Region') return pseudo.region;
    if (name === 'AWS::StackName') return pseudo.stackName;
    if (typeof name !== 'string' || !(name in values)) return UNKNOWN;
    const value = values[name];
    if (value === undefined) return UNKNOWN;
    return listTypes.has(name) ? value.split(',').map((s) => s.trim()) : value;
  };
  const evaluate = (expr: unknown): Value => {
    if (typeof expr === 'string') return expr;
    if (typeof expr === 'number' || typeof expr === 'boolean') return String(expr);
    if (Array.isArray(expr)) {
      const items = expr.map(evaluate);
      return items.every((i) => typeof i === 'string') ? (items as string[]) : UNKNOWN;
    }
    if (!expr || typeof expr !== 'object') return UNKNOWN;
    const entries = Object.entries(expr);
    if (entries.length !== 1) return UNKNOWN;
    const [fn, arg] = entries[0]!;
    const args = Array.isArray(arg) ? arg : [arg];
    switch (fn) {
      case 'Ref':
        return ref(arg);
      case 'Fn::Equals': {
        const [a, b] = args.map(evaluate);
        if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not': {
        const v = evaluate(args[0]);
        return typeof v === 'boolean' ? !v : UNKNOWN;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const vs = args.map(evaluate);
        if (fn === 'Fn::And' && vs.includes(false)) return false;
        if (fn === 'Fn::Or' && vs.includes(true)) return true;
        return vs.every((v) => typeof v === 'boolean') ? fn === 'Fn::And' : UNKNOWN;
      }
      case 'Fn::Contains': {
        const [list, value] = args.map(evaluate);
        if (!Array.isArray(list) || typeof value !== 'string') return UNKNOWN;
        return list.includes(value);
      }
      case 'Fn::EachMemberEquals': {
        const [list, value] = args.map(evaluate);
        if (!Array.isArray(list) || typeof value !== 'string') return UNKNOWN;
        return list.every((v) => v === value);
      }
      case 'Fn::EachMemberIn': {
        const [list, allowed] = args.map(evaluate);
        if (!Array.isArray(list) || !Array.isArray(allowed)) return UNKNOWN;
        return list.every((v) => allowed.includes(v));
      }
      default:
        // Fn::ValueOf, Fn::ValueOfAll, Fn::RefAll and anything else read the live account: CloudFormation's to judge.
        return UNKNOWN;
    }
  };
  const violations: RuleViolation[] = [];
  for (const [name, rule] of Object.entries(rules as Record<string, unknown>)) {
    if (!rule || typeof rule !== 'object') continue;
    const { RuleCondition: condition, Assertions: assertions } = rule as Record<string, unknown>;
    if (condition !== undefined && evaluate(condition) !== true) continue;
    if (!Array.isArray(assertions)) continue;
    for (const [i, assertion] of assertions.entries()) {
      const { Assert: expr, AssertDescription: description } = (assertion ?? {}) as Record<string, unknown>;
      if (evaluate(expr) === false) {
        violations.push({
          rule: name,
          assertion: i,
          message: typeof description === 'string' ? description : 'the assertion does not hold',
        });
      }
    }
  }
  return violations;
}
