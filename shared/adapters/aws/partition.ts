/**
 * AWS partitions: the China and GovCloud regions (and the isolated ones) have their own ARNs and DNS suffixes, so an
 * S3 URL built with `amazonaws.com` fails there. Every URL and ARN this project builds for a region goes through here.
 */

export interface Partition {
  /** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`. */
  readonly name: string;
  /** The DNS suffix of the partition's service endpoints. */
  readonly dnsSuffix: string;
}

const PARTITIONS: readonly (Partition & { readonly regions: RegExp })[] = [
  { name: 'aws-cn', dnsSuffix: 'amazonaws.com.cn', regions: /^cn-/ },
  { name: 'aws-us-gov', dnsSuffix: 'amazonaws.com', regions: /^us-gov-/ },
  { name: 'aws-iso-b', dnsSuffix: 'sc2s.sgov.gov', regions: /^us-isob-/ },
  { name: 'aws-iso', dnsSuffix: 'c2s.ic.gov', regions: /^us-iso-/ },
];

const COMMERCIAL: Partition = { name: 'aws', dnsSuffix: 'amazonaws.com' };

/** The partition a region belongs to; unknown prefixes are the commercial partition. */
export function partitionOf(region: string): Partition {
  const found = PARTITIONS.find((p) => p.regions.test(region));
  return found ? { name: found.name, dnsSuffix: found.dnsSuffix } : COMMERCIAL;
}

/** The virtual-hosted https URL of an S3 object, in the bucket's region and partition. Key segments are encoded. */
export function s3ObjectUrl(bucket: string, region: string, key: string): string {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `https://${bucket}.s3.${region}.${partitionOf(region).dnsSuffix}/${encodedKey}`;
}

/** The account and partition of an IAM role ARN (`arn:<partition>:iam::<account>:role/<name>`), or undefined. */
export function roleAccount(roleArn: string): { readonly account: string; readonly partition: string } | undefined {
  const match = /^arn:(aws[a-z-]*):iam::(\d{12}):role\//.exec(roleArn);
  return match ? { partition: match[1]!, account: match[2]! } : undefined;
}
