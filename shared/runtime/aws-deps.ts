/**
 * The AWS composition root: the engine's ports built from the AWS adapters (aws-ports.ts) and the repository's Git
 * source. The Lambda handlers and `gitops … --target aws` both call this, so a laptop and the deployed functions run
 * the same adapters with the same settings.
 */
import type { EngineDeps } from '../engine/deps.ts';
import type { Secrets, Source } from '../ports.ts';
import { openSource } from '../source/index.ts';
import { type AwsSettings, awsPorts } from './aws-ports.ts';

export { type AwsSettings, awsPorts, withDefaultServiceRole } from './aws-ports.ts';

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
      }),
  };
}
