/**
 * The changes a reviewer must not miss in a plan: resources CloudFormation will replace (a new physical resource, the
 * old one deleted), and deletions of resources that hold data. "4 to update" alone hides that one of them drops a
 * DynamoDB table; `gitops plan` and `sync` print these in their summary lines and JSON.
 */
import type { CfnTemplate, ChangeSummary, RenderedStack } from '../model.ts';

/** Resource types that hold data a deletion or replacement loses (queues: the messages in them). */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set([
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::Redshift::Cluster',
  'AWS::SQS::Queue',
  'AWS::Kinesis::Stream',
  'AWS::EFS::FileSystem',
  'AWS::EC2::Volume',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::OpenSearchService::Domain',
  'AWS::Elasticsearch::Domain',
  'AWS::Logs::LogGroup',
  'AWS::Cognito::UserPool',
  'AWS::SecretsManager::Secret',
  'AWS::KMS::Key',
  'AWS::ECR::Repository',
  'AWS::Timestream::Table',
  'AWS::Backup::BackupVault',
]);

export interface RiskyChange {
  readonly key: string;
  readonly logicalId: string;
  readonly type: string;
  readonly kind: 'replace' | 'delete';
  readonly stateful: boolean;
}

/** What the plan entry of one stack would replace, and which data-holding resources it would delete. */
export function riskyChanges(input: {
  readonly key: string;
  readonly changes?: ChangeSummary;
  readonly next?: RenderedStack;
  readonly previous?: RenderedStack;
  /** The whole stack is deleted (prune): every resource of `previous` goes. */
  readonly deleteStack?: boolean;
}): RiskyChange[] {
  const { key, changes, next, previous } = input;
  const out: RiskyChange[] = [];
  const typeIn = (template: CfnTemplate | undefined, id: string) => template?.Resources?.[id]?.Type ?? 'unknown type';
  for (const id of changes?.replaced ?? []) {
    const type = typeIn(next?.template ?? previous?.template, id);
    out.push({ key, logicalId: id, type, kind: 'replace', stateful: STATEFUL_TYPES.has(type) });
  }
  const removed = input.deleteStack ? Object.keys(previous?.template.Resources ?? {}) : (changes?.removed ?? []);
  for (const id of removed) {
    const resource = previous?.template.Resources?.[id];
    const type = resource?.Type ?? 'unknown type';
    // A resource kept on deletion loses nothing (DeletionPolicy Retain, RetainExceptOnCreate or Snapshot).
    const retained = /^(Retain|RetainExceptOnCreate|Snapshot)$/.test(String(resource?.DeletionPolicy ?? ''));
    if (STATEFUL_TYPES.has(type) && !retained) {
      out.push({ key, logicalId: id, type, kind: 'delete', stateful: true });
    }
  }
  return out;
}

/** `2 replaced (prod/data Table AWS::DynamoDB::Table, stateful; …), 1 stateful deletion (…)`, or ''. */
export function describeRisks(risks: readonly RiskyChange[]): string {
  const name = (r: RiskyChange) =>
    `${r.key} ${r.logicalId} ${r.type}${r.kind === 'replace' && r.stateful ? ', stateful' : ''}`;
  const replaced = risks.filter((r) => r.kind === 'replace');
  const deleted = risks.filter((r) => r.kind === 'delete');
  const parts: string[] = [];
  if (replaced.length) parts.push(`${replaced.length} replaced (${replaced.map(name).join('; ')})`);
  if (deleted.length) {
    parts.push(
      `${deleted.length} stateful deletion${deleted.length === 1 ? '' : 's'} (${deleted.map(name).join('; ')})`,
    );
  }
  return parts.join(', ');
}
