import { type App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Registers cdk-nag's AwsSolutions pack as a policy validation plugin (cdk-nag 3): synthesis fails on any error
 * finding that no `Validations.of(construct).acknowledge({ id, reason })` covers.
 */
export function addNag(app: App): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(checks);
  return checks;
}

/**
 * cdk-nag's flat form of a resolved CloudFormation value, as it appears in finding ids such as
 * `AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]`: Fn::Join concatenated, Ref → `<Id>`, Fn::GetAtt → `<Id.Attr>`.
 * A copy of cdk-nag's internal flattening (not exported); the nag test fails if the two ever disagree.
 */
export function nagFlatten(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(nagFlatten).join(delimiter);
    }
    if ('Fn::Sub' in node) return nagFlatten(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${nagFlatten(resource)}.${nagFlatten(attribute)}>`;
    }
    if ('Fn::ImportValue' in node) return nagFlatten(node['Fn::ImportValue']);
    if ('Ref' in node) return `<${nagFlatten(node['Ref'])}>`;
  }
  return JSON.stringify(value);
}

/** Acknowledges one wildcard resource of an IAM policy, naming it exactly as cdk-nag reports it. */
export function acknowledgeResource(scope: IConstruct, resource: string, reason: string): void {
  const flat = nagFlatten(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
}
