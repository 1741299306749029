/**
 * `cdk deploy` entry (cdk.json: `node bin/run-ts.js stack/app.ts`). Configuration comes from `-c` context, see
 * context.ts. cdk-nag's AwsSolutions pack runs on every synth: an unacknowledged error fails it.
 */
import { App } from 'aws-cdk-lib';
import { type ContextKey, configFromContext } from './context.ts';
import { GitOpsStack } from './gitops-stack.ts';
import { addNag } from './nag.ts';

const app = new App();
const config = configFromContext((key: ContextKey) => app.node.tryGetContext(key));
new GitOpsStack(app, config.stackName, {
  gitops: config.gitops,
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
addNag(app);
app.synth();
