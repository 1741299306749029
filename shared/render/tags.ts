/**
 * Stack tags: merged from their layers and checked against CloudFormation's rules, so a bad tag fails the render with
 * the file to fix instead of failing the change set.
 */
import { ConfigError, Reason } from '../errors.ts';

export const MAX_TAGS = 50;
export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;

export interface TagLayer {
  readonly file: string;
  readonly values: Readonly<Record<string, string>>;
}

export interface MergedTags {
  readonly tags: Record<string, string>;
  readonly origins: Record<string, string>;
}

/** Later layers win. Throws ConfigError `InvalidConfig` (reserved `aws:` prefix) or `LimitExceeded`. */
export function mergeTags(layers: readonly TagLayer[]): MergedTags {
  const tags: Record<string, string> = {};
  const origins: Record<string, string> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      tags[key] = value;
      origins[key] = layer.file;
    }
  }
  for (const [key, value] of Object.entries(tags)) {
    const file = origins[key]!;
    const where = { file, field: `tags.${key}` };
    if (key.toLowerCase().startsWith('aws:')) {
      throw new ConfigError(Reason.InvalidConfig, `${file}: tags.${key}: the "aws:" prefix is reserved for AWS`, where);
    }
    if (key.length > MAX_TAG_KEY) {
      throw new ConfigError(Reason.LimitExceeded, `${file}: tags.${key}: key is over ${MAX_TAG_KEY} characters`, where);
    }
    if (value.length > MAX_TAG_VALUE) {
      throw new ConfigError(
        Reason.LimitExceeded,
        `${file}: tags.${key}: value is over ${MAX_TAG_VALUE} characters`,
        where,
      );
    }
  }
  const count = Object.keys(tags).length;
  if (count > MAX_TAGS) {
    const files = [...new Set(Object.values(origins))].join(', ');
    throw new ConfigError(
      Reason.LimitExceeded,
      `${files}: ${count} tags once merged; CloudFormation allows at most ${MAX_TAGS} per stack`,
      { file: files.split(', ')[0]!, field: 'tags' },
    );
  }
  return { tags, origins };
}
