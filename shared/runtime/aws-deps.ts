/**
 * The AWS composition root with the repository: the ports of aws-ports.ts plus the Git source (the drift worker, which
 * reads no repository, uses aws-ports.ts alone and so loads no Git code).
 */
import type { EngineDeps } from '../engine/deps.ts';
import type { Secrets, Source } from '../ports.ts';
import { historyDepthFrom, openSource } from '../source/index.ts';
import { type AwsSettings, awsPorts } from './aws-ports.ts';

export { type AwsSettings, awsPorts, bucketPattern, withDefaultServiceRole } from './aws-ports.ts';

/** Every port, with the repository's source; the git token is read from SSM when the source asks for it. */
export function awsDeps(settings: AwsSettings, repo: string, source?: Source): EngineDeps & { secrets: Secrets } {
  const ports = awsPorts(settings);
  return {
    ...ports,
    source:
      source ??
      openSource(repo, {
        cacheDir: settings.cacheDir,
        token: () => ports.secrets.get('git-token'),
        ...withHistoryDepth(historyDepthFrom(process.env)),
      }),
  };
}

/** The history bound for ordering commits of a remote repository, when `GITOPS_HISTORY_DEPTH` sets one. */
const withHistoryDepth = (depth: number | undefined) => (depth === undefined ? {} : { maxHistoryDepth: depth });
