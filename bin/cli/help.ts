import type { CliOptions } from './args.ts';
import { COMMAND_SPECS, COMMANDS, type Command, FLAGS, type FlagSpec, flagsOf } from './commands.ts';
import { version } from './version.ts';

const flagLine = (f: FlagSpec) => {
  const names = `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.value ? ` ${f.value}` : ''}`;
  return `  ${names.padEnd(30)} ${f.help}`;
};

const repoArgument = (c: Command) =>
  COMMAND_SPECS[c].repo === 'required' ? ' <repo>' : COMMAND_SPECS[c].repo === 'optional' ? ' [<repo>]' : '';

/** `gitops --help`: the commands, and where to find each one's flags. */
export function usage(): string {
  const general = FLAGS.filter((f) => f.commands === 'all');
  return `gitops — GitOps for AWS CloudFormation, no cluster to run

Usage: gitops <command> [<repo>] [options]

<repo> is a local repository path or an http(s) Git URL (token from GITOPS_GIT_TOKEN).
Only committed state counts: uncommitted files are never read.

Commands:
${COMMANDS.map((c) => `  ${`${c}${repoArgument(c)}`.padEnd(16)} ${COMMAND_SPECS[c].summary}`).join('\n')}

Options of every command:
${general.map(flagLine).join('\n')}

Run \`gitops help <command>\` (or \`gitops <command> --help\`) for the command's options and examples.

Environment: GITOPS_WEBHOOK_SECRET (dev, mandatory), GITOPS_GIT_TOKEN, NO_COLOR, AWS_REGION, AWS_PROFILE.
`;
}

/** `gitops help <command>`: its usage, what it does, its flags and examples. */
export function commandHelp(command: Command): string {
  const spec = COMMAND_SPECS[command];
  const flags = flagsOf(command);
  return `gitops ${command} — ${spec.summary}

Usage: gitops ${command}${repoArgument(command)} [options]

${spec.details}

Options:
${flags.map(flagLine).join('\n')}

Examples:
${spec.examples.map((e) => `  ${e}`).join('\n')}
`;
}

/** What `gitops help [<command>]`, `gitops <command> --help` and `gitops --version` print. */
export function helpText(options: Pick<CliOptions, 'command' | 'topic'>): string {
  if (options.command === 'version') return `gitops ${version()}\n`;
  return options.topic ? commandHelp(options.topic) : usage();
}
