/**
 * `output:<stack>.<Output>` parameters take their value from a dependency's applied outputs. The apply step needs
 * every value (CloudFormation refuses a change set without them: "Parameters: [VpcId] must have values"); a plan
 * uses the values the dependencies have now and previews offline when one is not applied yet.
 */
import type { RenderedStack, StackKey } from '../model.ts';

export interface ResolvedOutputs {
  /** The stack with every output parameter that has a value filled in. */
  readonly rendered: RenderedStack;
  /** Output parameters with no value yet: parameter → `stack.OutputName`. */
  readonly pending: Readonly<Record<string, string>>;
}

/** Fills `rendered`'s output parameters from `outputsOf(dependencyKey)`; what has no value is listed as pending. */
export function resolveOutputParameters(
  rendered: RenderedStack,
  outputsOf: (key: StackKey) => Readonly<Record<string, string>> | undefined,
): ResolvedOutputs {
  const entries = Object.entries(rendered.outputParameters ?? {});
  if (entries.length === 0) return { rendered, pending: {} };
  const parameters = { ...rendered.parameters };
  const pending: Record<string, string> = {};
  for (const [parameter, ref] of entries) {
    const { stack, output } = splitOutputRef(ref);
    const value = outputsOf(`${rendered.environment}/${stack}`)?.[output];
    if (value === undefined) pending[parameter] = ref;
    else parameters[parameter] = value;
  }
  return { rendered: { ...rendered, parameters }, pending };
}

export function splitOutputRef(ref: string): { readonly stack: string; readonly output: string } {
  const dot = ref.indexOf('.');
  return { stack: ref.slice(0, dot), output: ref.slice(dot + 1) };
}

/** The line a preview shows for parameters it could not resolve. */
export function pendingParametersLine(pending: Readonly<Record<string, string>>): string {
  const names = Object.entries(pending)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([parameter, ref]) => `${parameter} (${ref})`);
  return `parameters from dependency, not applied yet: ${names.join(', ')}`;
}
