/**
 * Stores a rendered stack's packaged artifacts (code zips, definitions, nested templates) where its template says
 * they are, before CloudFormation reads the template. The bytes are built again from the commit's blobs and checked
 * against the hash render wrote into the template.
 */
import { ConfigError, Reason } from '../errors.ts';
import type { RenderedStack } from '../model.ts';
import type { RepoSnapshot } from '../ports.ts';
import { artifactBytes } from '../render/packaging.ts';
import type { EngineDeps } from './deps.ts';

export async function publishArtifacts(
  deps: Pick<EngineDeps, 'artifacts' | 'logger'>,
  snapshot: Pick<RepoSnapshot, 'readFile'>,
  rendered: RenderedStack,
  signal?: AbortSignal,
): Promise<void> {
  const artifacts = rendered.artifacts ?? [];
  if (artifacts.length === 0) return;
  if (!deps.artifacts) {
    throw new ConfigError(
      Reason.InvalidConfig,
      `${rendered.stack} (${rendered.environment}) packages ${artifacts.length} local artifact(s) (${artifacts[0]!.source}), and this target has no artifact store`,
      { field: 'artifacts' },
    );
  }
  const target = {
    region: rendered.region,
    ...(rendered.role ? { role: rendered.role } : {}),
    ...(rendered.externalId ? { externalId: rendered.externalId } : {}),
  };
  for (const ref of artifacts) {
    signal?.throwIfAborted();
    await deps.artifacts.put(target, ref.key, await artifactBytes(snapshot, ref), signal);
  }
  deps.logger.debug('artifacts stored', { stack: rendered.key, count: artifacts.length });
}
