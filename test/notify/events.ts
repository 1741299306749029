import { DetailType, type GitOpsEvent } from '../../shared/events/catalog.ts';
import { type DetailInput, makeEvent } from '../../shared/events/publish.ts';

export const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
export const clock = { now: () => new Date('2025-01-02T03:04:05.000Z') };

export function event(type: DetailType, extra: Partial<DetailInput> = {}): GitOpsEvent {
  return makeEvent(
    type,
    {
      repo: 'https://github.com/acme/infra.git',
      branch: 'main',
      stack: 'web',
      environment: 'prod',
      stackName: 'web-prod',
      region: 'eu-west-1',
      revision: SHA,
      commit: {
        sha: SHA,
        author: 'Ada Lovelace',
        message: 'Grow the bucket\n\nlonger body',
        url: `https://github.com/acme/infra/commit/${SHA}`,
      },
      reason: 'Applied',
      message: 'web-prod applied',
      ...extra,
    },
    clock,
  );
}

export const failed = (extra: Partial<DetailInput> = {}) =>
  event(DetailType.SyncFailed, {
    reason: 'ChangeSetFailed',
    message:
      'update of web-prod (eu-west-1) failed, stack is UPDATE_ROLLBACK_COMPLETE: Bucket (AWS::S3::Bucket) UPDATE_FAILED: web-prod-bucket already exists',
    data: {
      failedResources: [{ logicalId: 'Bucket', type: 'AWS::S3::Bucket', reason: 'web-prod-bucket already exists' }],
    },
    ...extra,
  });
