/**
 * What the CLI accepts, as two tables: the commands, and the flags with the commands each applies to. Parsing
 * (args.ts), per-command checks and help (help.ts) are all driven by these tables, so adding a flag is one row in
 * FLAGS (and reading it in main.ts through `options.flags`, or a typed field in args.ts).
 */

export const COMMANDS = ['render', 'plan', 'sync', 'status', 'drift', 'dev'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CommandSpec {
  readonly name: Command;
  /** Whether the command takes a `<repo>` argument. */
  readonly repo: 'required' | 'optional' | 'none';
  readonly summary: string;
  /** Paragraphs printed under the usage line of `gitops <command> --help`. */
  readonly details: string;
  readonly examples: readonly string[];
}

export const COMMAND_SPECS: Readonly<Record<Command, CommandSpec>> = {
  render: {
    name: 'render',
    repo: 'required',
    summary: 'print the rendered desired state (templates, parameters, tags, capabilities, hash)',
    details:
      'Reads the committed state of <repo> only; needs no state store and changes nothing. Exit 0, or 2 on an error.',
    examples: [
      'gitops render .',
      'gitops render .gitops/demo/repo --env prod --stack api -o json',
      'gitops render . --deployment-file deploy/network.yaml',
    ],
  },
  plan: {
    name: 'plan',
    repo: 'required',
    summary: 'diff the desired state against the state store; exit 0 no changes, 1 changes, 2 error',
    details:
      'Exit 1 when anything would change: a stack to create, update or delete, or a stack removed from Git.\n' +
      'The summary line flags replacements and deletions of stateful resources (tables, buckets, databases, queues).',
    examples: [
      'gitops plan .',
      'gitops plan . --env staging --state .gitops',
      'gitops plan https://github.com/acme/platform.git --ref v1.4.0 -o json',
    ],
  },
  sync: {
    name: 'sync',
    repo: 'required',
    summary: 'plan and apply; exit 0 success, 2 error',
    details:
      'Stacks whose syncPolicy.automated is false wait for approval: run the same sync again with --approve.\n' +
      'With --dry-run nothing changes and the plan is printed.',
    examples: [
      'gitops sync .',
      'gitops sync . --env prod --approve',
      'gitops sync . --dry-run',
      'gitops sync . --target aws --region eu-west-1',
    ],
  },
  status: {
    name: 'status',
    repo: 'none',
    summary: 'every stack with environment, applied revision, sync, drift, health, last result',
    details: 'Reads the state store only (--state DIR, or the deployed stack with --target aws); takes no <repo>.',
    examples: ['gitops status', 'gitops status --state .gitops -o json', 'gitops status --web --port 8788'],
  },
  drift: {
    name: 'drift',
    repo: 'required',
    summary: 'out-of-sync (branch head vs applied) and resource drift; exit 0 none, 1 drift, 2 error',
    details: 'The local target records no real resources: it reports revision drift only.',
    examples: ['gitops drift .', 'gitops drift . --no-resources', 'gitops drift . --target aws -o json'],
  },
  dev: {
    name: 'dev',
    repo: 'optional',
    summary: 'the local runtime: webhook server, scheduled checks, status page (default repo: .)',
    details:
      'Needs GITOPS_WEBHOOK_SECRET. Serves POST /webhook and the status page on 127.0.0.1, syncs on every push\n' +
      'and checks for drift every --interval. Stop it with Ctrl-C.',
    examples: [
      'gitops dev examples --demo    # npm start: a demo repository under .gitops/demo',
      'GITOPS_WEBHOOK_SECRET=dev-secret gitops dev . --port 9000 --interval 5m',
    ],
  },
};

const REPO_COMMANDS: readonly Command[] = ['render', 'plan', 'sync', 'drift'];
const STATE_COMMANDS: readonly Command[] = ['plan', 'sync', 'status', 'drift', 'dev'];
const TARGET_COMMANDS: readonly Command[] = ['plan', 'sync', 'status', 'drift'];
const OUTPUT_COMMANDS: readonly Command[] = ['render', 'plan', 'sync', 'status', 'drift'];

export interface FlagSpec {
  /** The long name, without `--`. */
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  /** The placeholder of a string flag's value in help, e.g. `DIR`. */
  readonly value?: string;
  readonly help: string;
  /** The commands it applies to; any other command refuses it. */
  readonly commands: readonly Command[] | 'all';
  /** Applies only with `--target aws`. */
  readonly awsOnly?: boolean;
}

// biome-ignore format: one flag a line, so adding a flag is one line
export const FLAGS: readonly FlagSpec[] = [
  { name: 'ref', type: 'string', value: 'REF', commands: REPO_COMMANDS, help: 'branch, tag or commit (default: the default branch)' },
  { name: 'env', short: 'e', type: 'string', multiple: true, value: 'NAME', commands: REPO_COMMANDS, help: 'only this environment (repeatable)' },
  { name: 'stack', short: 's', type: 'string', multiple: true, value: 'NAME', commands: REPO_COMMANDS, help: 'only this stack (repeatable)' },
  { name: 'deployment-file', type: 'string', value: 'PATH', commands: REPO_COMMANDS, help: 'one CloudFormation Git sync deployment file, no gitops.yaml needed' },
  { name: 'output', short: 'o', type: 'string', value: 'human|json|yaml', commands: OUTPUT_COMMANDS, help: 'output format (default human; plan --base also markdown)' },
  { name: 'state', type: 'string', value: 'DIR', commands: STATE_COMMANDS, help: 'local state folder (default .gitops)' },
  { name: 'target', type: 'string', value: 'local|aws', commands: TARGET_COMMANDS, help: "where to apply (default local; aws uses the SDK's standard configuration)" },
  { name: 'bucket', type: 'string', value: 'NAME', commands: TARGET_COMMANDS, awsOnly: true, help: "the deployed stack's state bucket" },
  { name: 'bus', type: 'string', value: 'NAME', commands: TARGET_COMMANDS, awsOnly: true, help: "the deployed stack's event bus" },
  { name: 'stack-outputs', type: 'string', value: 'STACK', commands: TARGET_COMMANDS, awsOnly: true, help: 'read --bucket and --bus from this stack\'s outputs (default GITOPS_STACK)' },
  { name: 'region', type: 'string', value: 'REGION', commands: [...REPO_COMMANDS, 'status', 'dev'], help: 'default region for repositories that name none, and of --target aws' },
  { name: 'policy', type: 'string', value: 'FILE', commands: [...REPO_COMMANDS, 'dev'], help: 'the installation policy (YAML or JSON; default GITOPS_POLICY): what each repository may deploy, from which branch, where and with which role' },
  { name: 'service-role', type: 'string', value: 'ARN', commands: ['plan', 'sync', 'drift'], awsOnly: true, help: "CloudFormation service role for every change set (default: the installation stack's CfnServiceRoleArn output)" },
  { name: 'use-own-credentials', type: 'boolean', commands: ['plan', 'sync', 'drift'], awsOnly: true, help: 'run change sets with your own credentials, no service role' },
  { name: 'base', type: 'string', value: 'BRANCH', commands: ['plan'], help: 'preview --ref as a pull request into BRANCH (its bound environments); -o markdown prints the comment' },
  { name: 'dry-run', type: 'boolean', commands: ['sync'], help: 'show the plan, change nothing' },
  { name: 'approve', type: 'boolean', commands: ['sync'], help: 'apply stacks whose syncPolicy.automated is false' },
  { name: 'no-resources', type: 'boolean', commands: ['drift'], help: 'check revision drift only' },
  { name: 'port', short: 'p', type: 'string', value: 'PORT', commands: ['dev', 'status'], help: 'HTTP port on 127.0.0.1, 1-65535 (default 8787)' },
  { name: 'interval', type: 'string', value: 'DURATION', commands: ['dev'], help: 'out-of-sync and drift check interval, like 30s, 5m, 1h (default 60s)' },
  { name: 'web', type: 'boolean', commands: ['status'], help: 'serve the status page on 127.0.0.1 instead of printing' },
  { name: 'demo', type: 'boolean', commands: ['dev'], help: 'copy <repo> into a demo repository and show one change going through the loop' },
  { name: 'verbose', short: 'v', type: 'boolean', commands: 'all', help: 'debug logs and stack traces' },
  { name: 'help', short: 'h', type: 'boolean', commands: 'all', help: 'this help' },
  { name: 'version', type: 'boolean', commands: 'all', help: 'print the version' },
];

export function flagsOf(command: Command): FlagSpec[] {
  return FLAGS.filter((f) => f.commands === 'all' || f.commands.includes(command));
}
