export { systemClock } from '../../clock.ts';
export { CloudFormationApplier, type CloudFormationApplierOptions, TEMPLATE_BODY_LIMIT } from './applier-cfn.ts';
export {
  AwsClientFactory,
  type AwsClientFactoryOptions,
  type AwsCredentials,
  type AwsTarget,
  type CloudFormationClients,
  roleSessionName,
} from './clients.ts';
export { S3DedupeStore, type S3DedupeStoreOptions } from './dedupe-s3.ts';
export { CloudFormationDriftDetector, type CloudFormationDriftDetectorOptions, DRIFT_CHECKABLE } from './drift-cfn.ts';
export { EventBridgeSink, type EventBridgeSinkOptions, entrySize, MAX_ENTRY_BYTES } from './events-eventbridge.ts';
export { SnsNotifier, type SnsNotifierOptions } from './notifier-sns.ts';
export { SsmSecrets, type SsmSecretsOptions } from './secrets-ssm.ts';
export { S3StateStore, type S3StateStoreOptions } from './state-s3.ts';
export { S3TemplateUploader, type S3TemplateUploaderOptions, type TemplateUploader } from './template-uploader.ts';
