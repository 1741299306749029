import { loadRepoConfig } from '../config/load.ts';
import type { RepoConfig, StackKey, StackState } from '../model.ts';
import type { RepoSnapshot } from '../ports.ts';
import { type RenderOutcome, renderStacks } from '../render/render.ts';
import type { EngineDeps, Selection } from './deps.ts';
import { enforceSigning } from './signing.ts';

/** The first steps every command shares: fetch the commit, load its configuration, render what changed. */
export interface Prepared {
  readonly snapshot: RepoSnapshot;
  readonly config: RepoConfig;
  readonly outcome: RenderOutcome;
  /** Every stack the state store knows, by key. */
  readonly states: ReadonlyMap<StackKey, StackState>;
}

export async function prepare(deps: EngineDeps, selection: Selection): Promise<Prepared> {
  const snapshot = await deps.source.fetch({
    ...(selection.ref ? { ref: selection.ref } : {}),
    ...(selection.signal ? { signal: selection.signal } : {}),
  });
  deps.logger.debug('fetched', { repo: snapshot.repo, branch: snapshot.branch, revision: snapshot.commit.sha });
  // The installation's own policy first, with only its own keys: the commit cannot weaken what it is checked by.
  if (deps.requireSigned) {
    await enforceSigning({
      source: deps.source,
      commit: snapshot.commit,
      signing: { required: true, keys: deps.requireSigned.keys, ssmKeys: deps.requireSigned.ssmKeys },
      origin: { file: 'the installation', field: 'requireSigned' },
      ...(deps.secrets ? { secrets: deps.secrets } : {}),
    });
  }
  const config = await loadRepoConfig(snapshot, {
    defaultRegion: deps.defaultRegion,
    ...(selection.deploymentFile ? { deploymentFile: selection.deploymentFile } : {}),
  });
  // Signed commits only, when the repository asks: checked before anything of the commit is rendered. The policy and
  // its keys come from this commit, so branch protection (or `requireSigned` above) must guard who may change them.
  await enforceSigning({
    source: deps.source,
    commit: snapshot.commit,
    signing: config.signing,
    ...(deps.secrets ? { secrets: deps.secrets } : {}),
  });
  const states = new Map((await deps.state.listStacks()).map((s) => [s.key, s] as const));
  const outcome = await renderStacks(snapshot, config, {
    ...(selection.environments?.length ? { environments: [...selection.environments] } : {}),
    ...(selection.stacks?.length ? { stacks: [...selection.stacks] } : {}),
    // A commit named by its SHA is on no branch: every environment is rendered from it, whatever branch it follows.
    ...(isCommitSha(snapshot.branch) ? { ignoreBranch: true } : {}),
    ...(deps.stackNamePrefix ? { stackNamePrefix: deps.stackNamePrefix } : {}),
    ...(deps.artifacts ? { artifacts: deps.artifacts } : {}),
    // Only stacks whose input blobs changed since they were applied are rendered again (a monorepo push that
    // touches one stack renders one stack). A stack that belongs to another repository is never "unchanged".
    previous: (key) => {
      const state = states.get(key);
      if (!state?.lastApplied || state.repo !== snapshot.repo) return undefined;
      return { inputs: { ...state.lastApplied.inputs }, hash: state.lastApplied.hash };
    },
  });
  return { snapshot, config, outcome, states };
}

const isCommitSha = (ref: string) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref);
