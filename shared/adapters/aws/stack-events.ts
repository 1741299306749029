/** Reads DescribeStackEvents for the resources that made an operation fail, so every alert can name them. */
import { DescribeStackEventsCommand, type StackEvent } from '@aws-sdk/client-cloudformation';

export interface FailedResource {
  readonly logicalId: string;
  readonly type?: string;
  readonly status: string;
  readonly reason: string;
}

/** Reasons that only say a resource was stopped because another one failed. */
const COLLATERAL = /^Resource (creation|update|deletion) cancelled/i;

/**
 * The failed resources of the newest operation on the stack, oldest failure (the root cause) first. Stops at the
 * operation's `User Initiated` event, or after `maxPages` pages.
 */
export async function failedResources(
  send: (command: DescribeStackEventsCommand) => Promise<{ StackEvents?: StackEvent[]; NextToken?: string }>,
  stack: { readonly stackName: string; readonly stackId?: string; readonly clientRequestToken?: string },
  maxPages = 5,
): Promise<FailedResource[]> {
  const failed: StackEvent[] = [];
  let token: string | undefined;
  let pages = 0;
  scan: do {
    const out = await send(
      new DescribeStackEventsCommand({
        StackName: stack.stackId ?? stack.stackName,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const ev of out.StackEvents ?? []) {
      if (stack.clientRequestToken && ev.ClientRequestToken && ev.ClientRequestToken !== stack.clientRequestToken) {
        // An earlier operation: everything below it is older still.
        break scan;
      }
      const isStack = ev.ResourceType === 'AWS::CloudFormation::Stack' && ev.LogicalResourceId === stack.stackName;
      if (isStack && ev.ResourceStatusReason === 'User Initiated') break scan;
      if (ev.ResourceStatus?.endsWith('_FAILED')) failed.push(ev);
    }
    token = out.NextToken;
    pages++;
  } while (token && pages < maxPages);

  const chronological = failed.reverse();
  const resources = chronological.filter(
    (ev) => !(ev.ResourceType === 'AWS::CloudFormation::Stack' && ev.LogicalResourceId === stack.stackName),
  );
  const rootCauses = resources.filter((ev) => !COLLATERAL.test(ev.ResourceStatusReason ?? ''));
  const chosen = rootCauses.length ? rootCauses : resources.length ? resources : chronological;
  const seen = new Set<string>();
  const out: FailedResource[] = [];
  for (const ev of chosen) {
    const id = ev.LogicalResourceId ?? '?';
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({
      logicalId: id,
      ...(ev.ResourceType ? { type: ev.ResourceType } : {}),
      status: ev.ResourceStatus ?? '',
      reason: ev.ResourceStatusReason ?? 'no reason given',
    });
  }
  return out;
}

export function describeFailures(resources: readonly FailedResource[]): string {
  if (!resources.length) return 'no failed resource events found';
  return resources.map((r) => `${r.logicalId}${r.type ? ` (${r.type})` : ''} ${r.status}: ${r.reason}`).join('; ');
}
