/**
 * The AWS composition root without the repository: the engine's ports built from the AWS adapters (aws-deps.ts adds
 * the Git source; the drift worker, which reads no repository, stops here). The Lambda handlers and
 * `gitops … --target aws` both call this, so a laptop and the deployed functions run the same adapters with the same
 * settings. Clients come from the SDK's standard configuration (profiles, AWS_REGION, AWS_ENDPOINT_URL and the
 * per-service endpoint variables); tests pass their own.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CloudFormationApplier } from '../adapters/aws/applier-cfn.ts';
import { S3ArtifactStore } from '../adapters/aws/artifact-store-s3.ts';
import { AwsClientFactory, type CloudFormationClients } from '../adapters/aws/clients.ts';
import { CloudFormationDriftDetector } from '../adapters/aws/drift-cfn.ts';
import { EventBridgeSink } from '../adapters/aws/events-eventbridge.ts';
import { SsmSecrets } from '../adapters/aws/secrets-ssm.ts';
import { S3StateStore } from '../adapters/aws/state-s3.ts';
import { S3TemplateUploader } from '../adapters/aws/template-uploader.ts';
import { systemClock } from '../clock.ts';
import type { EngineDeps } from '../engine/deps.ts';
import { ConfigError, Reason } from '../errors.ts';
import { DEFAULT_STACK_NAME_PREFIX, type RenderedStack } from '../model.ts';
import { accountOfRole } from '../policy/check.ts';
import type { InstallationPolicy } from '../policy/schema.ts';
import type { Applier, Clock, Logger, Secrets } from '../ports.ts';

export interface AwsSettings {
  /** The state bucket (`state/`, `history/`, `rendered/`, large templates under `templates/`). */
  readonly bucket: string;
  readonly prefix?: string;
  readonly busName: string;
  /** SSM Parameter Store prefix of the secrets. @default `/lambda-gitops` */
  readonly secretsPrefix?: string;
  /** The installation's region (the bucket's). */
  readonly region: string;
  /** Where fetched repositories are cached (`/tmp` in Lambda, kept while the container is warm). */
  readonly cacheDir: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Every managed stack's name starts with this (the installation's IAM scope). @default 'gitops-' */
  readonly stackNamePrefix?: string;
  /**
   * CloudFormation service role for stacks that name none and live in the installation's own account (no
   * environment role): CloudFormation then acts with that role's rights, not the apply function's.
   */
  readonly serviceRole?: string;
  /**
   * SSM parameters holding the armored OpenPGP public keys the installation trusts: when set, only commits signed by
   * one of them are applied, whatever the repository's `gitops.yaml` says.
   */
  readonly trustedKeyParameters?: readonly string[];
  /** The installation policy: what each repository may deploy (shared/policy). */
  readonly policy?: InstallationPolicy;
  /**
   * The installation's account (policy `accounts`; with `artifactBucket`, names its artifact buckets in other regions).
   * @default the service role's account
   */
  readonly account?: string;
  /** `region` is the operator's ambient AWS_REGION (the CLI without --region): it never moves an applied stack. */
  readonly ambientRegion?: boolean;
  /** How long one stack operation may take. @default 30 minutes */
  readonly stackTimeoutMs?: number;
  /** Keep drift values, redacted (GITOPS_DRIFT_VALUES=redacted). @default false: property paths and kinds only */
  readonly driftValues?: boolean;
  /**
   * The bucket of each account and region that packaged artifacts and large templates of stacks in other accounts go
   * to, written and read with the environment's role; `{account}` and `{region}` are replaced.
   * @default the CDK bootstrap assets bucket, `cdk-hnb659fds-assets-{account}-{region}`
   */
  readonly artifactBucket?: string;
  readonly clients?: {
    readonly s3?: S3Client;
    readonly eventBridge?: EventBridgeClient;
    readonly ssm?: SSMClient;
    readonly cloudFormation?: CloudFormationClients;
  };
}

/** The ports that need no repository: enough for the apply and notify functions and `status --target aws`. */
export function awsPorts(settings: AwsSettings): Omit<EngineDeps, 'source'> & { secrets: Secrets } {
  for (const [field, value] of [
    ['bucket', settings.bucket],
    ['busName', settings.busName],
    ['region', settings.region],
  ] as const) {
    if (!value) {
      throw new ConfigError(Reason.InvalidConfig, `the AWS target needs a ${field} (see --bucket, --bus, --region)`, {
        field,
      });
    }
  }
  const clock = settings.clock ?? systemClock;
  const s3 = settings.clients?.s3 ?? new S3Client({ region: settings.region });
  const cloudFormation = settings.clients?.cloudFormation ?? new AwsClientFactory({ clock });
  const account = settings.account ?? accountOfRole(settings.serviceRole);
  return {
    state: new S3StateStore({
      bucket: settings.bucket,
      ...(settings.prefix ? { prefix: settings.prefix } : {}),
      client: s3,
    }),
    applier: withDefaultServiceRole(
      settings.serviceRole,
      new CloudFormationApplier({
        clients: cloudFormation,
        uploader: new S3TemplateUploader({
          bucket: settings.bucket,
          region: settings.region,
          client: s3,
          ...(cloudFormation instanceof AwsClientFactory
            ? {
                crossAccount: {
                  s3: (target) => cloudFormation.s3(target),
                  ...(settings.artifactBucket ? { bucketFor: bucketPattern(settings.artifactBucket) } : {}),
                },
              }
            : {}),
        }),
        clock,
        logger: settings.logger,
        ...(settings.stackTimeoutMs ? { stackTimeoutMs: settings.stackTimeoutMs } : {}),
      }),
    ),
    drift: new CloudFormationDriftDetector({ clients: cloudFormation, clock, values: settings.driftValues ?? false }),
    artifacts: new S3ArtifactStore({
      s3: (target) =>
        cloudFormation instanceof AwsClientFactory
          ? cloudFormation.s3(target)
          : target.region === settings.region && !target.role
            ? s3
            : new S3Client({ region: target.region }),
      installation: {
        bucket: settings.bucket,
        region: settings.region,
        ...(account ? { account } : {}),
      },
      ...(settings.artifactBucket ? { bucketFor: bucketPattern(settings.artifactBucket), named: true } : {}),
    }),
    events: new EventBridgeSink({
      eventBusName: settings.busName,
      client: settings.clients?.eventBridge ?? new EventBridgeClient({ region: settings.region }),
      clock,
    }),
    secrets: new SsmSecrets({
      ...(settings.secretsPrefix ? { prefix: settings.secretsPrefix } : {}),
      client: settings.clients?.ssm ?? new SSMClient({ region: settings.region }),
      clock,
    }),
    clock,
    logger: settings.logger,
    defaultRegion: settings.region,
    stackNamePrefix: settings.stackNamePrefix ?? DEFAULT_STACK_NAME_PREFIX,
    ...(settings.trustedKeyParameters?.length
      ? { requireSigned: { keys: [], ssmKeys: [...settings.trustedKeyParameters] } }
      : {}),
    ...(settings.policy ? { policy: settings.policy } : {}),
    ...(account ? { account } : {}),
    ...(settings.ambientRegion ? { ambientRegion: true } : {}),
  };
}

/** `{account}` and `{region}` of a bucket name pattern filled in. */
export function bucketPattern(pattern: string): (account: string, region: string) => string {
  return (account, region) => pattern.replaceAll('{account}', account).replaceAll('{region}', region);
}

/**
 * Gives stacks without their own `serviceRole` the installation's service role — only those in the installation's
 * account: a stack whose environment assumes a role in another account cannot pass a role of this one.
 */
export function withDefaultServiceRole(role: string | undefined, applier: Applier): Applier {
  if (!role) return applier;
  const withRole = (rendered: RenderedStack): RenderedStack =>
    rendered.serviceRole || rendered.role ? rendered : { ...rendered, serviceRole: role };
  return {
    preview: (request) => applier.preview({ ...request, rendered: withRole(request.rendered) }),
    apply: (request) => applier.apply({ ...request, rendered: withRole(request.rendered) }),
    delete: (request) => applier.delete(request),
    ...(applier.health ? { health: (rendered, signal) => applier.health!(withRole(rendered), signal) } : {}),
    ...(applier.discard ? { discard: (preview, rendered) => applier.discard!(preview, withRole(rendered)) } : {}),
  };
}
