import type { EngineDeps } from '../../shared/engine/deps.ts';

/**
 * Progress on long work, for a person at a terminal: the fetch, and each stack as it is previewed or applied (a real
 * change set can take minutes). Written to stderr, so `--output json` on stdout stays clean; off a terminal nothing
 * is printed.
 */
export function withProgress(deps: EngineDeps, write: (line: string) => void): EngineDeps {
  const { source, applier } = deps;
  let applied = 0;
  return {
    ...deps,
    source: {
      ...source,
      fetch: async (options) => {
        write(`fetching ${options?.ref ? `${options.ref} of ` : ''}the repository…`);
        const snapshot = await source.fetch(options);
        write(`fetched ${snapshot.branch} at ${snapshot.commit.sha.slice(0, 7)}`);
        return snapshot;
      },
      ...(source.isAncestor ? { isAncestor: source.isAncestor.bind(source) } : {}),
      ...(source.readSignature ? { readSignature: source.readSignature.bind(source) } : {}),
    },
    applier: {
      ...applier,
      preview: (request) => {
        write(`planning ${request.rendered.key} (${request.rendered.stackName})…`);
        return applier.preview(request);
      },
      apply: (request) => {
        applied += 1;
        write(`applying ${request.rendered.key} (${request.rendered.stackName}), stack ${applied}…`);
        return applier.apply(request);
      },
      delete: (request) => {
        write(`deleting ${request.state.key} (${request.state.stackName})…`);
        return applier.delete(request);
      },
      ...(applier.health ? { health: applier.health.bind(applier) } : {}),
      // Spreading a class instance copies no methods: every optional one is bound here.
      ...(applier.discard ? { discard: applier.discard.bind(applier) } : {}),
    },
  };
}
