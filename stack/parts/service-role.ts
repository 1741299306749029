/**
 * The role CloudFormation assumes for the managed stacks. Whatever is pushed to Git runs with its rights, so its
 * policies are the operator's choice: none by default, with a synth warning saying so.
 */
import { Annotations, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { GitOpsProps } from '../gitops-construct.ts';
import { nagFlatten } from '../nag.ts';

export function createServiceRole(
  scope: Construct,
  props: Pick<GitOpsProps, 'serviceRolePolicies' | 'serviceRolePolicyArns' | 'serviceRoleName'>,
  stackNamePrefix: string,
): iam.Role {
  const stack = Stack.of(scope);
  const servicePolicies = [
    ...(props.serviceRolePolicies ?? []),
    ...(props.serviceRolePolicyArns ?? []).map((arn, i) =>
      iam.ManagedPolicy.fromManagedPolicyArn(scope, `ServiceRolePolicy${i}`, arn),
    ),
  ];
  const role = new iam.Role(scope, 'CfnServiceRole', {
    roleName: props.serviceRoleName,
    description: `CloudFormation service role of lambda-gitops for stacks named ${stackNamePrefix}*`,
    assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    managedPolicies: servicePolicies,
  });
  if (servicePolicies.length === 0) {
    Annotations.of(role).addWarningV2(
      'lambda-gitops:service-role-without-policy',
      'The CloudFormation service role of the managed stacks has no policy, so every apply fails with ' +
        'AccessDenied. Pass serviceRolePolicies (or -c serviceRolePolicies=<AWS managed name or ARN>,...) with the ' +
        'rights the repository needs.',
    );
  }
  for (const policy of servicePolicies) {
    const finding = nagFlatten(stack.resolve(policy.managedPolicyArn));
    if (finding.includes(':iam::aws:')) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM4[Policy::${finding}]`,
        reason: 'The operator chose this policy for the managed stacks: what Git may deploy is their decision.',
      });
    }
  }
  return role;
}
