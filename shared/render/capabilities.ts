/**
 * The capabilities a template needs, inferred the way CloudFormation checks them, so a GitOps apply never stops on
 * InsufficientCapabilities: acknowledging them is the review of the commit that added the resource.
 */
import type { Capability, CfnTemplate } from '../model.ts';

/** IAM resource types and the property that gives them a custom (physical) name. */
const IAM_NAME_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
};

/** In CloudFormation's order of strength; NAMED_IAM includes IAM, so only the stronger one is returned. */
export function inferCapabilities(template: CfnTemplate): Capability[] {
  let iam = false;
  let namedIam = false;
  let autoExpand = hasTransform(template.Transform) || containsFnTransform(template);
  const sam = transformNames(template.Transform).some((t) => t.startsWith('AWS::Serverless'));
  // SAM expands functions and state machines into IAM roles of its own: the expanded stack needs CAPABILITY_IAM.
  if (sam) iam = true;
  for (const resource of Object.values(template.Resources ?? {})) {
    const type = typeof resource?.Type === 'string' ? resource.Type : '';
    if (type.startsWith('AWS::IAM::')) {
      iam = true;
      const nameProperty = IAM_NAME_PROPERTIES[type];
      const props = resource.Properties as Record<string, unknown> | undefined;
      if (nameProperty && props && props[nameProperty] !== undefined && props[nameProperty] !== null) {
        namedIam = true;
      }
    }
    // A nested stack's template may hold macros we cannot see from here; CloudFormation then asks the parent.
    if (type === 'AWS::CloudFormation::Stack' || type.startsWith('AWS::Serverless::')) autoExpand = true;
  }
  const out: Capability[] = [];
  if (namedIam) out.push('CAPABILITY_NAMED_IAM');
  else if (iam) out.push('CAPABILITY_IAM');
  if (autoExpand) out.push('CAPABILITY_AUTO_EXPAND');
  return out;
}

/** The union of capability lists, in CloudFormation's order; NAMED_IAM includes IAM, so IAM is dropped beside it. */
export function mergeCapabilities(...lists: readonly (readonly Capability[])[]): Capability[] {
  const all = new Set(lists.flat());
  const out: Capability[] = [];
  if (all.has('CAPABILITY_NAMED_IAM')) out.push('CAPABILITY_NAMED_IAM');
  else if (all.has('CAPABILITY_IAM')) out.push('CAPABILITY_IAM');
  if (all.has('CAPABILITY_AUTO_EXPAND')) out.push('CAPABILITY_AUTO_EXPAND');
  return out;
}

function transformNames(transform: unknown): string[] {
  const list = Array.isArray(transform) ? transform : transform === undefined || transform === null ? [] : [transform];
  return list.flatMap((t) => {
    if (typeof t === 'string') return [t];
    if (t && typeof t === 'object' && typeof (t as { Name?: unknown }).Name === 'string') {
      return [(t as { Name: string }).Name];
    }
    return [];
  });
}

function hasTransform(transform: unknown): boolean {
  return transformNames(transform).length > 0;
}

function containsFnTransform(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsFnTransform);
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Fn::Transform' || containsFnTransform(v)) return true;
    }
  }
  return false;
}
