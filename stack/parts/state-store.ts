/**
 * The state store: the versioned, private state bucket (`state/`, `history/`, `rendered/`, `notify/` below the state
 * prefix), the bucket receiving its access logs, and the one way functions are granted access to it.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledgeResource } from '../nag.ts';

export interface StateStoreProps {
  readonly statePrefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly historyRetentionDays?: number;
  readonly accessLogsBucket?: s3.IBucket;
}

export function createStateBucket(scope: Construct, props: StateStoreProps): s3.Bucket {
  const accessLogs = props.accessLogsBucket ?? createAccessLogsBucket(scope, props.removalPolicy);
  return new s3.Bucket(scope, 'StateBucket', {
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'state-bucket/',
    removalPolicy: props.removalPolicy,
    lifecycleRules: [
      {
        id: 'history',
        prefix: `${props.statePrefix}history/`,
        expiration: Duration.days(props.historyRetentionDays ?? 365),
        noncurrentVersionExpiration: Duration.days(30),
      },
      {
        // state/ is overwritten on every apply; old versions are only worth keeping for a short undo window.
        id: 'noncurrent-versions',
        noncurrentVersionExpiration: Duration.days(90),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
      {
        // The webhook's delivery ledger (ids and body digests, 24 h each, expiry checked on read): removed after.
        id: 'webhook-deliveries',
        prefix: `${props.statePrefix}webhook/deliveries/`,
        expiration: Duration.days(2),
        noncurrentVersionExpiration: Duration.days(1),
      },
    ],
  });
}

/** Reads and writes only below `prefix`; no wildcard actions. */
export function grantStateAccess(bucket: s3.IBucket, f: lambda.IFunction, prefix: string): void {
  f.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  f.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  acknowledgeResource(
    f.role!,
    bucket.arnForObjects(`${prefix}*`),
    'Object keys are stack keys and content hashes chosen at run time; access is limited to the state prefix ' +
      'of the state bucket and to Get/Put/DeleteObject.',
  );
}

function createAccessLogsBucket(scope: Construct, removalPolicy: RemovalPolicy): s3.Bucket {
  const bucket = new s3.Bucket(scope, 'AccessLogsBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy,
    lifecycleRules: [{ id: 'expire', expiration: Duration.days(90) }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'This bucket receives the state bucket access logs; logging it too would log forever.',
  });
  return bucket;
}
