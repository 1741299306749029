import { parseArgs } from 'node:util';
import { ConfigError, Reason } from '../../shared/errors.ts';
import { didYouMean } from '../../shared/suggest.ts';
import { COMMAND_SPECS, COMMANDS, type Command, FLAGS, type FlagSpec } from './commands.ts';

export type FlagValue = string | boolean | readonly string[];

export interface CliOptions {
  /** The command to run, or `help` (with `topic`) and `version`. */
  readonly command: Command | 'help' | 'version';
  /** `gitops help plan`, `gitops plan --help`: the command whose help to print. */
  readonly topic?: Command;
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
  /** The installation policy file (`--policy`, else `GITOPS_POLICY`). */
  readonly policy?: string;
  /** `--target aws`: the CloudFormation service role passed on every change set of the installation's account. */
  readonly serviceRole?: string;
  /** `--target aws` without a service role: CloudFormation acts with the operator's own credentials. */
  readonly useOwnCredentials: boolean;
  /** plan: preview `--ref` as a pull request into this branch (the environments bound to it). */
  readonly base?: string;
  /** Every flag given, by long name, as parsed: a flag added to FLAGS can be read here without a typed field. */
  readonly flags: Readonly<Record<string, FlagValue | undefined>>;
}

/** AWS region names: eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-4, us-isob-east-1. */
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

const invalid = (message: string, field?: string) =>
  new ConfigError(Reason.InvalidConfig, message, { notify: false, ...(field ? { field } : {}) });

/**
 * Parses `gitops <command> [<repo>] [options]` and checks it against the command: flags that do not apply to it,
 * extra arguments, values out of range. Unknown options get a suggestion. Throws ConfigError.
 */
export function parseCli(argv: readonly string[]): CliOptions {
  const { tokens } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: false,
    tokens: true,
    options: Object.fromEntries(
      FLAGS.map((f) => [
        f.name,
        { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) },
      ]),
    ),
  });
  const positionals: string[] = [];
  const given = new Map<FlagSpec, string>();
  const values: Record<string, FlagValue> = {};
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = FLAGS.find((f) => f.name === token.name);
    if (!spec) throw invalid(`unknown option ${token.rawName}${unknownHint(token.rawName)}`);
    given.set(spec, token.rawName);
    if (spec.type === 'boolean') {
      if (token.inlineValue) throw invalid(`--${spec.name} takes no value`, `--${spec.name}`);
      values[spec.name] = true;
    } else {
      if (token.value === undefined) throw invalid(`--${spec.name} needs a value (${spec.value})`, `--${spec.name}`);
      values[spec.name] = spec.multiple
        ? [...((values[spec.name] as string[] | undefined) ?? []), token.value]
        : token.value;
    }
  }

  const [first, ...rest] = positionals;
  if (values.version && first === undefined) return options('version', {}, values);
  if (first === undefined || first === 'help') {
    const topic = rest[0] === undefined ? undefined : commandNamed(rest[0]);
    if (rest.length > 1) throw invalid(`unexpected argument "${rest[1]}"`);
    return options('help', topic ? { topic } : {}, values);
  }
  const command = commandNamed(first);
  if (values.help) return options('help', { topic: command }, values);
  if (values.version) return options('version', {}, values);

  const spec = COMMAND_SPECS[command];
  const [repo, ...extra] = rest;
  if (repo !== undefined && spec.repo === 'none') {
    throw invalid(
      `gitops ${command} takes no <repo> argument, got "${repo}": it reads the state store (--state DIR or --target aws)`,
    );
  }
  if (extra.length) throw invalid(`unexpected argument "${extra[0]}": gitops ${command} takes one <repo>`);
  for (const [flag, raw] of given) {
    if (flag.commands !== 'all' && !flag.commands.includes(command)) {
      throw invalid(
        `${raw} does not apply to gitops ${command} (it is an option of ${flag.commands.join(', ')})`,
        `--${flag.name}`,
      );
    }
  }
  return options(command, repo === undefined ? {} : { repo }, values);
}

function options(command: CliOptions['command'], extra: Partial<CliOptions>, v: Record<string, FlagValue>): CliOptions {
  const str = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const bool = (name: string) => v[name] === true;
  const list = (name: string) => (Array.isArray(v[name]) ? (v[name] as string[]) : []);
  const output = str('output') ?? 'human';
  // `markdown` is the pull-request comment of `plan --base` only, so the general message leaves it out.
  const outputs = ['human', 'json', 'yaml'] as const;
  if (output !== 'markdown' && !(outputs as readonly string[]).includes(output)) {
    throw invalid(`--output must be human, json or yaml, not "${output}"${didYouMean(output, outputs)}`, '--output');
  }
  if (output === 'markdown' && !(command === 'plan' && str('base'))) {
    throw invalid('--output markdown is for gitops plan <repo> --ref <head> --base <branch>', '--output');
  }
  const target = str('target') ?? 'local';
  if (target !== 'local' && target !== 'aws')
    throw invalid(`--target must be local or aws, not "${target}"`, '--target');
  const region = str('region');
  if (region !== undefined && !REGION.test(region)) {
    throw invalid(`--region must be an AWS region name like eu-west-1, not "${region}"`, '--region');
  }
  if (target !== 'aws') {
    const awsOnly = FLAGS.find((f) => f.awsOnly && v[f.name] !== undefined);
    if (awsOnly) throw invalid(`--${awsOnly.name} applies only with --target aws`, `--${awsOnly.name}`);
  }
  if (command === 'status' && v.port !== undefined && !v.web) {
    throw invalid('--port applies to gitops status only with --web', '--port');
  }
  return {
    command,
    ...extra,
    ...(str('ref') ? { ref: str('ref') } : {}),
    env: list('env'),
    stack: list('stack'),
    ...(str('deployment-file') ? { deploymentFile: str('deployment-file') } : {}),
    output: output as CliOptions['output'],
    state: str('state') ?? '.gitops',
    target,
    dryRun: bool('dry-run'),
    approve: bool('approve'),
    verbose: bool('verbose'),
    port: port(str('port') ?? '8787'),
    interval: duration(str('interval') ?? '60s'),
    ...(region ? { region } : {}),
    ...(str('bucket') ? { bucket: str('bucket') } : {}),
    ...(str('bus') ? { bus: str('bus') } : {}),
    ...(str('stack-outputs') ? { stackOutputs: str('stack-outputs') } : {}),
    web: bool('web'),
    demo: bool('demo'),
    resources: !bool('no-resources'),
    ...(str('policy') ? { policy: str('policy') } : {}),
    ...(str('service-role') ? { serviceRole: str('service-role') } : {}),
    useOwnCredentials: bool('use-own-credentials'),
    ...(str('base') ? { base: str('base') } : {}),
    flags: v,
  };
}

function commandNamed(name: string): Command {
  if ((COMMANDS as readonly string[]).includes(name)) return name as Command;
  throw invalid(`unknown command "${name}"${didYouMean(name, COMMANDS)} (commands: ${COMMANDS.join(', ')}, help)`);
}

function unknownHint(raw: string): string {
  const names = FLAGS.map((f) => `--${f.name}`);
  const suggestion = didYouMean(raw.startsWith('--') ? raw : `-${raw}`, names, '');
  return `${suggestion} (gitops help <command> lists its options)`;
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw invalid(`--port must be a TCP port from 1 to 65535, not "${text}"`, '--port');
  }
  return n;
}

/** `90`, `90s`, `5m`, `1h` → milliseconds. */
export function duration(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw invalid(`--interval must look like 30s, 5m or 1h, not "${text}"`, '--interval');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms < 1000) throw invalid(`--interval must be at least 1s`, '--interval');
  return ms;
}
