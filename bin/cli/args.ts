import { parseArgs } from 'node:util';
import { ConfigError, Reason } from '../../shared/errors.ts';

export interface CliOptions {
  readonly command: string;
  readonly repo?: string;
  readonly ref?: string;
  readonly env: readonly string[];
  readonly stack: readonly string[];
  readonly deploymentFile?: string;
  readonly output: 'human' | 'json' | 'yaml' | 'markdown';
  readonly state: string;
  readonly target: 'local' | 'aws';
  readonly dryRun: boolean;
  readonly approve: boolean;
  readonly verbose: boolean;
  readonly port: number;
  readonly interval: number;
  readonly region?: string;
  readonly bucket?: string;
  readonly bus?: string;
  readonly stackOutputs?: string;
  readonly web: boolean;
  readonly demo: boolean;
  readonly resources: boolean;
  readonly help: boolean;
  /** The installation policy file (`--policy`, else `GITOPS_POLICY`). */
  readonly policy?: string;
  /** `--target aws`: the CloudFormation service role passed on every change set of the installation's account. */
  readonly serviceRole?: string;
  /** `--target aws` without a service role: CloudFormation acts with the operator's own credentials. */
  readonly useOwnCredentials: boolean;
  /** plan: preview `--ref` as a pull request into this branch (the environments bound to it). */
  readonly base?: string;
}

export const COMMANDS = ['render', 'plan', 'sync', 'status', 'drift', 'dev'] as const;

/** Parses `gitops <command> [<repo>] [options]`; unknown options are errors naming the option. */
export function parseCli(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new ConfigError(Reason.InvalidConfig, (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), {
      cause: err,
      notify: false,
    });
  }
  const { values: v, positionals } = parsed;
  const [command = 'help', repo] = positionals;
  if (positionals.length > 2) {
    throw new ConfigError(Reason.InvalidConfig, `unexpected argument "${positionals[2]}"`, { notify: false });
  }
  const output = v.output ?? 'human';
  if (output !== 'human' && output !== 'json' && output !== 'yaml' && output !== 'markdown') {
    throw new ConfigError(Reason.InvalidConfig, `--output must be human, json, yaml or markdown, not "${output}"`, {
      field: '--output',
    });
  }
  if (output === 'markdown' && (command !== 'plan' || !v.base)) {
    throw new ConfigError(
      Reason.InvalidConfig,
      '--output markdown is for gitops plan <repo> --ref <head> --base <branch>',
      {
        field: '--output',
      },
    );
  }
  const target = v.target ?? 'local';
  if (target !== 'local' && target !== 'aws') {
    throw new ConfigError(Reason.InvalidConfig, `--target must be local or aws, not "${target}"`, {
      field: '--target',
    });
  }
  return {
    command,
    ...(repo !== undefined ? { repo } : {}),
    ...(v.ref ? { ref: v.ref } : {}),
    env: v.env ?? [],
    stack: v.stack ?? [],
    ...(v['deployment-file'] ? { deploymentFile: v['deployment-file'] } : {}),
    output,
    state: v.state ?? '.gitops',
    target,
    dryRun: v['dry-run'] ?? false,
    approve: v.approve ?? false,
    verbose: v.verbose ?? false,
    port: integer(v.port ?? '8787', '--port'),
    interval: duration(v.interval ?? '60s'),
    ...(v.region ? { region: v.region } : {}),
    ...(v.bucket ? { bucket: v.bucket } : {}),
    ...(v.bus ? { bus: v.bus } : {}),
    ...(v['stack-outputs'] ? { stackOutputs: v['stack-outputs'] } : {}),
    web: v.web ?? false,
    demo: v.demo ?? false,
    resources: !(v['no-resources'] ?? false),
    help: v.help ?? false,
    ...(v.policy ? { policy: v.policy } : {}),
    ...(v['service-role'] ? { serviceRole: v['service-role'] } : {}),
    useOwnCredentials: v['use-own-credentials'] ?? false,
    ...(v.base ? { base: v.base } : {}),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      ref: { type: 'string' },
      env: { type: 'string', multiple: true, short: 'e' },
      stack: { type: 'string', multiple: true, short: 's' },
      'deployment-file': { type: 'string' },
      output: { type: 'string', short: 'o' },
      state: { type: 'string' },
      target: { type: 'string' },
      'dry-run': { type: 'boolean' },
      approve: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      port: { type: 'string', short: 'p' },
      interval: { type: 'string' },
      region: { type: 'string' },
      bucket: { type: 'string' },
      bus: { type: 'string' },
      'stack-outputs': { type: 'string' },
      web: { type: 'boolean' },
      demo: { type: 'boolean' },
      'no-resources': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      policy: { type: 'string' },
      'service-role': { type: 'string' },
      'use-own-credentials': { type: 'boolean' },
      base: { type: 'string' },
    },
  });
}

function integer(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(Reason.InvalidConfig, `${field} must be a whole number, not "${text}"`, { field });
  }
  return n;
}

/** `90`, `90s`, `5m`, `1h` → milliseconds. */
export function duration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new ConfigError(Reason.InvalidConfig, `--interval must look like 30s, 5m or 1h, not "${text}"`, {
      field: '--interval',
    });
  }
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms < 1000) throw new ConfigError(Reason.InvalidConfig, `--interval must be at least 1s`, { field: '--interval' });
  return ms;
}

export const USAGE = `gitops — GitOps for AWS CloudFormation, no cluster to run

Usage: gitops <command> [<repo>] [options]

<repo> is a local repository path or an http(s) Git URL (token from GITOPS_GIT_TOKEN).
Only committed state counts: uncommitted files are never read.

Commands:
  render <repo>   print the rendered desired state (templates, parameters, tags, capabilities, hash)
  plan <repo>     diff the desired state against the state store; exit 0 no changes, 1 changes, 2 error
  sync <repo>     plan and apply; exit 0 success, 2 error
  status          every stack with environment, applied revision, sync, drift, health, last result
  drift <repo>    out-of-sync (branch head vs applied) and resource drift; exit 0 none, 1 drift, 2 error
  dev [<repo>]    the local runtime: webhook server, scheduled checks, status page (default repo: .)

Selectors:
  --ref REF                 branch, tag or commit (default: the default branch)
  -e, --env NAME            only this environment (repeatable)
  -s, --stack NAME          only this stack (repeatable)
  --deployment-file PATH    one CloudFormation Git sync deployment file, no gitops.yaml needed

Options:
  --state DIR               local state folder (default .gitops)
  --target local|aws        where to apply (default local; aws uses the SDK's standard configuration)
  --bucket NAME, --bus NAME the deployed stack's state bucket and event bus (--target aws)
  --region REGION           default region for repositories that name none (AWS_REGION only seeds new stacks)
  --policy FILE             the installation policy (YAML or JSON; default GITOPS_POLICY): what each repository
                            may deploy, from which branch, where and with which role
  --service-role ARN        --target aws: CloudFormation service role for every change set (default: the
                            installation stack's CfnServiceRoleArn output)
  --use-own-credentials     --target aws: run change sets with your own credentials, no service role
  -o, --output human|json|yaml|markdown
  --base BRANCH             plan: preview --ref as a pull request into BRANCH (its bound environments);
                            --output markdown prints the pull-request comment; exit 1 when something would change
  --dry-run                 sync: show the plan, change nothing
  --approve                 sync: apply stacks whose syncPolicy.automated is false
  --no-resources            drift: check revision drift only
  -p, --port P              dev: HTTP port on 127.0.0.1 (default 8787)
  --interval D              dev: out-of-sync check interval (default 60s)
  --web                     status: serve the status page on 127.0.0.1
  -v, --verbose             debug logs and stack traces
  -h, --help

Environment: GITOPS_WEBHOOK_SECRET (dev, mandatory), GITOPS_GIT_TOKEN, GITOPS_POLICY, NO_COLOR, AWS_REGION, AWS_PROFILE.
`;
