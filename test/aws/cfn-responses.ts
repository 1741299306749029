/**
 * Scripted CloudFormation answers, copied from what the service really returns: the error codes and messages of the
 * query protocol (`ValidationError`, `Throttling`/"Rate exceeded", `InsufficientCapabilitiesException`), and the
 * statuses of DescribeStacks / DescribeChangeSet.
 */
import {
  type Change,
  CloudFormationServiceException,
  InsufficientCapabilitiesException,
  type Stack,
} from '@aws-sdk/client-cloudformation';

export const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/web-prod/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
export const CHANGE_SET_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:changeSet/gitops-apply-3f786850e387/11112222-3333-4444-5555-666677778888';

export const notFound = (name: string) =>
  new CloudFormationServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `Stack with id ${name} does not exist`,
  });

/** Any other ValidationError, with the message given (CloudFormation refuses an operation on a stack's state so). */
export const validationError = (message: string) =>
  new CloudFormationServiceException({
    name: 'ValidationError',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });

export const throttling = () =>
  new CloudFormationServiceException({
    name: 'Throttling',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

export const insufficientCapabilities = () =>
  new InsufficientCapabilitiesException({
    $metadata: { httpStatusCode: 400 },
    message: 'Requires capabilities : [CAPABILITY_IAM]',
  });

export function stack(status: string, extra: Partial<Stack> = {}): { Stacks: Stack[] } {
  return {
    Stacks: [
      {
        StackId: STACK_ID,
        StackName: 'web-prod',
        CreationTime: new Date('2024-06-01T00:00:00Z'),
        StackStatus: status as Stack['StackStatus'],
        ...extra,
      },
    ],
  };
}

export const resourceChange = (
  action: 'Add' | 'Modify' | 'Remove',
  logicalId: string,
  type: string,
  replacement?: 'True' | 'False' | 'Conditional',
): Change => ({
  Type: 'Resource',
  ResourceChange: {
    Action: action,
    LogicalResourceId: logicalId,
    ResourceType: type,
    ...(replacement ? { Replacement: replacement } : {}),
  },
});
