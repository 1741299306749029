import type { InstallationPolicy } from '../policy/schema.ts';
import type {
  Applier,
  ArtifactStore,
  Clock,
  DriftDetector,
  EventSink,
  Logger,
  Secrets,
  Source,
  StateStore,
} from '../ports.ts';
import type { SpecCheckMemo } from '../render/render.ts';

/** The ports one engine run needs. Built at the edge (CLI, local runtime, Lambda handler) and passed in. */
export interface EngineDeps {
  readonly source: Source;
  readonly state: StateStore;
  readonly applier: Applier;
  readonly drift: DriftDetector;
  readonly events: EventSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Region for repositories that name none (zero-configuration mode). */
  readonly defaultRegion: string;
  /** Where `signing.ssmKeys` are read from (SSM on AWS, the environment locally). */
  readonly secrets?: Secrets;
  /** Prepended to stack names that lack it: the AWS installation's rights are scoped to `<prefix>*`. @default '' */
  readonly stackNamePrefix?: string;
  /**
   * Signed commits required by the installation itself, with the keys it trusts. Unlike `signing` in `gitops.yaml`,
   * no commit can turn it off or add a key: the commit is checked against these keys before anything of it is read.
   */
  readonly requireSigned?: { readonly keys: readonly string[]; readonly ssmKeys: readonly string[] };
  /**
   * The installation policy (shared/policy): what each repository may deploy, where, from which branch and with which
   * role. Absent: every repository deploys what its commit declares (the single-repository local loop).
   */
  readonly policy?: InstallationPolicy;
  /** The installation's own account, for stacks without an environment role (policy `accounts`). */
  readonly account?: string;
  /**
   * `defaultRegion` is the operator's ambient AWS_REGION, not configuration: a stack already applied keeps the region
   * it was applied in unless gitops.yaml (or `--region`) names one.
   */
  readonly ambientRegion?: boolean;
  /** Where packaged artifacts go (the state folder locally, a bucket per account and region on AWS). */
  readonly artifacts?: ArtifactStore;
  /**
   * Check templates against the CloudFormation resource specification when rendering (the local target and the CLI;
   * the functions leave it to CloudFormation and never load the specification). @default false
   */
  readonly checkResources?: boolean;
  /** Templates that passed the check before (the state folder locally), so the specification is loaded less. */
  readonly specChecked?: SpecCheckMemo;
}

/** Which part of the repository a run looks at: the CLI's selectors. */
export interface Selection {
  /** Branch, tag or commit. @default the default branch */
  readonly ref?: string;
  readonly environments?: readonly string[];
  readonly stacks?: readonly string[];
  /** Render one CloudFormation Git sync deployment file of the repository, ignoring `gitops.yaml`. */
  readonly deploymentFile?: string;
  /**
   * Ask the applier what each change would do (a change set on AWS, the offline template diff locally). The sync
   * function turns this off: the apply function's own change set says it, and the sync function has no
   * CloudFormation rights. @default true
   */
  readonly preview?: boolean;
  readonly signal?: AbortSignal;
  /**
   * Keep what each preview made (a change set) for the apply that follows in the same process, so a CLI sync makes
   * one change set per stack, shows it and executes that same one. Only `sync` sets it; it discards what it did not
   * use. @default false
   */
  readonly keepPreviews?: boolean;
}
