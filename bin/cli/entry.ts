/**
 * The process entry of the `gitops` bundle (bin/build.js). Help and `--version` are answered from this small module;
 * everything else (Git, YAML, the engine) lives in chunks imported only when a command runs, so `gitops --help`
 * costs about as much as starting Node. main() parses again and reports any argument error.
 */
import { parseCli } from './args.ts';
import { helpText } from './help.ts';

const argv = process.argv.slice(2);
let answer: string | undefined;
try {
  const options = parseCli(argv);
  if (options.command === 'help' || options.command === 'version') answer = helpText(options);
} catch {
  // main() prints it, with the stack trace under --verbose.
}
if (answer !== undefined) {
  process.stdout.write(answer);
} else {
  // No top-level await: the entry also builds as CommonJS.
  void import('./main.ts').then(async ({ main }) => {
    process.exitCode = await main(argv);
  });
}
