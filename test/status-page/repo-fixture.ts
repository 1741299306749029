/**
 * A real desired-state repository for the status page tests: 2 environments, 3 stacks with dependsOn
 * (network ← data ← api), each template with outputs; and a signed GitHub push delivery for the dev runtime.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitFiles, createWorkRepo, type GitEnv, makeGitEnv } from '../helpers/git-repo.ts';

export const GITOPS_YAML = `defaults:
  region: eu-west-1
  stackName: "{env}-{stack}"
environments:
  - name: dev
    parameters:
      Retention: "7"
  - name: prod
    region: us-east-1
    parameters:
      Retention: "90"
stacks:
  - name: network
    template: templates/network.yaml
  - name: data
    template: templates/data.yaml
    dependsOn: [network]
  - name: api
    template: templates/api.yaml
    dependsOn: [network, data]
    parameters:
      QueueName: output:data.QueueName
`;

export const networkTemplate = (cidr: string) => `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: ${cidr}
Outputs:
  VpcId:
    Value: !Ref Vpc
`;

const DATA = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Retention:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 3600
Outputs:
  QueueName:
    Value: !GetAtt Queue.QueueName
  Retention:
    Value: !Ref Retention
`;

const API = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  QueueName:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "\${AWS::StackName}-events"
Outputs:
  TopicArn:
    Value: !Ref Topic
`;

export interface RepoFixture {
  readonly dir: string;
  readonly genv: GitEnv;
  commit(files: Record<string, string>, message: string): string;
}

export function makeRepo(): RepoFixture {
  const genv = makeGitEnv();
  const dir = createWorkRepo(genv, mkdtempSync(join(tmpdir(), 'gitops-status-repo-')));
  commitFiles(
    genv,
    dir,
    {
      'gitops.yaml': GITOPS_YAML,
      'templates/network.yaml': networkTemplate('10.0.0.0/16'),
      'templates/data.yaml': DATA,
      'templates/api.yaml': API,
    },
    'Three stacks in two environments',
  );
  return { dir, genv, commit: (files, message) => commitFiles(genv, dir, files, message) };
}

/** POSTs a GitHub push delivery for `sha`, signed with `secret` as GitHub signs it. */
export async function sendGithubPush(url: string, secret: string, sha: string, message: string): Promise<Response> {
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/infra', clone_url: 'https://example.com/acme/infra.git' },
    head_commit: {
      id: sha,
      message,
      timestamp: new Date().toISOString(),
      author: { name: 'Test Author', email: 'author@example.com' },
    },
    pusher: { name: 'test' },
  });
  return fetch(`${url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
}
