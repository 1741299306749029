/** The custom EventBridge bus every lambda-gitops event goes to, and its archive for replay. */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';

export interface EventBusProps {
  readonly busName: string;
  readonly archiveRetention?: Duration;
}

export function createEventBus(scope: Construct, props: EventBusProps): events.EventBus {
  const bus = new events.EventBus(scope, 'Bus', { eventBusName: props.busName });
  bus.archive('Archive', {
    description: 'Every lambda-gitops event, for replay',
    eventPattern: { account: [Stack.of(scope).account] },
    retention: props.archiveRetention ?? Duration.days(30),
  });
  return bus;
}
