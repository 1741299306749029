import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { GitOps, type GitOpsProps } from './gitops-construct.ts';

export interface GitOpsStackProps extends StackProps {
  /**
   * Configuration of the lambda-gitops installation.
   * @default - every GitOps default: bus 'lambda-gitops', no repositories yet
   */
  readonly gitops?: GitOpsProps;
}

/** `cdk deploy` installs lambda-gitops: the {@link GitOps} construct plus the outputs the operator and CLI need. */
export class GitOpsStack extends Stack {
  public readonly gitops: GitOps;

  constructor(scope: Construct, id: string, props: GitOpsStackProps = {}) {
    super(scope, id, {
      description: 'lambda-gitops: GitOps for AWS on Lambda, EventBridge, SQS, S3 and CloudFormation',
      ...props,
    });
    // The construct id names every resource: never change it.
    const gitops = new GitOps(this, 'GitOps', props.gitops);
    this.gitops = gitops;

    new CfnOutput(this, 'WebhookUrl', {
      value: gitops.webhookUrl.url,
      description: 'Payload URL for GitHub, GitLab and Bitbucket webhooks (content type application/json)',
    });
    new CfnOutput(this, 'EventBusName', { value: gitops.bus.eventBusName, description: 'Custom EventBridge bus' });
    new CfnOutput(this, 'StateBucketName', { value: gitops.stateBucket.bucketName, description: 'State bucket' });
    new CfnOutput(this, 'AlertsTopicArn', { value: gitops.alertsTopic.topicArn, description: 'Alerts SNS topic' });
    new CfnOutput(this, 'CfnServiceRoleArn', {
      value: gitops.serviceRole.roleArn,
      description: 'Role CloudFormation assumes for managed stacks; attach the policies your stacks need',
    });
    const outputIds: Record<string, string> = {
      webhookSecret: 'WebhookSecretParameterName',
      gitToken: 'GitTokenParameterName',
      slackWebhookUrl: 'SlackWebhookUrlParameterName',
      githubToken: 'GitHubTokenParameterName',
      githubAppToken: 'GitHubAppTokenParameterName',
      gitlabToken: 'GitLabTokenParameterName',
      bitbucketToken: 'BitbucketTokenParameterName',
    };
    for (const [key, name] of Object.entries(gitops.secretParameterNames)) {
      new CfnOutput(this, outputIds[key]!, {
        value: name,
        description: `Create it: aws ssm put-parameter --type SecureString --name ${name} --value <value>`,
      });
    }
    new CfnOutput(this, 'CliFlags', {
      value: `--bucket ${gitops.stateBucket.bucketName} --bus ${gitops.bus.eventBusName}`,
      description: 'Flags for the gitops CLI to work against this installation (gitops sync --target aws ...)',
    });
  }
}
