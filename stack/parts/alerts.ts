/**
 * Alerts: the KMS-encrypted SNS topic people subscribe to (e-mail, the Amazon Q Developer Slack channel). The notify
 * function and the CloudWatch alarms (monitoring.ts) are its only publishers.
 */
import { Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { GitOpsProps } from '../gitops-construct.ts';

export function createAlertsTopic(
  scope: Construct,
  props: Pick<GitOpsProps, 'alertEmails' | 'slackChannel'>,
): sns.Topic {
  const stack = Stack.of(scope);
  const alertsKey = new kms.Key(scope, 'AlertsKey', {
    description: 'Encrypts the lambda-gitops alerts topic',
    enableKeyRotation: true,
  });
  // CloudWatch alarms publish to the topic as a service, so it must be able to use the key (the notify function
  // gets its grant from grantPublish).
  for (const service of ['cloudwatch.amazonaws.com']) {
    alertsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal(service)],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }
  const topic = new sns.Topic(scope, 'AlertsTopic', {
    displayName: 'lambda-gitops alerts',
    masterKey: alertsKey,
    enforceSSL: true,
  });
  // A topic policy replaces SNS's default owner-account policy, so CloudWatch alarms need their own statement.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ['sns:Publish'],
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  );
  for (const email of props.alertEmails ?? []) {
    topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
  if (props.slackChannel) {
    new chatbot.SlackChannelConfiguration(scope, 'SlackChannel', {
      slackChannelConfigurationName: props.slackChannel.configurationName ?? 'lambda-gitops-alerts',
      slackWorkspaceId: props.slackChannel.workspaceId,
      slackChannelId: props.slackChannel.channelId,
      notificationTopics: [topic],
      // Notifications only: the channel role gets no policy, and the guardrail keeps chat users read-only.
      guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
      loggingLevel: chatbot.LoggingLevel.ERROR,
    });
  }
  return topic;
}
