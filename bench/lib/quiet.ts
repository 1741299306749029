import type { Logger } from '../../shared/ports.ts';

/** Benchmarks measure the work, not the console: every log line is dropped. */
export const quietLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
