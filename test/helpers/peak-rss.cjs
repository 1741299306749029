// Preloaded with `node --require` by memory tests: prints the process's peak resident set size (KiB) on exit, on a
// line of its own on stderr, so the test reads the child's own figure rather than sampling it from outside.
process.on('exit', () => {
  process.stderr.write(`\npeak-rss-kib ${process.resourceUsage().maxRSS}\n`);
});
