import { describe, expect, it } from 'vitest';
import { boundedDetail, COMMIT_MESSAGE_MAX_BYTES, truncateBytes } from '../../shared/events/bounded.ts';
import type { EventDetail } from '../../shared/events/catalog.ts';
import { terminalLine, terminalSafe } from '../../shared/terminal-text.ts';

const base: EventDetail = { reason: 'ResourceDrift', severity: 'warning', message: 'app (dev): drifted' };

describe('event bounds', () => {
  it('keeps the first line of a commit message, at most 1 KB, cut on a character boundary', () => {
    const detail = boundedDetail({ ...base, commit: { sha: 'a'.repeat(40), message: `${'é'.repeat(2_000)}\nbody` } });
    const message = detail.commit!.message!;
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(COMMIT_MESSAGE_MAX_BYTES);
    expect(message.endsWith('é…')).toBe(true);
    expect(message).not.toContain('body');
  });

  it('bounds the commit an Out Of Sync carries in data, and long text in data', () => {
    const detail = boundedDetail({
      ...base,
      data: { headCommit: { sha: 'b'.repeat(40), message: `head\n${'y'.repeat(300_000)}` }, note: 'z'.repeat(100_000) },
    });
    expect(detail.data).toEqual({
      headCommit: { sha: 'b'.repeat(40), message: 'head' },
      note: expect.stringMatching(/^z+…$/),
    });
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThan(16 * 1024);
  });

  it('leaves a small detail as it is', () => {
    expect(boundedDetail(base)).toEqual(base);
    expect(truncateBytes('short', 10)).toBe('short');
  });
});

describe('terminal text', () => {
  it('removes escapes and control characters, keeps line feeds, tabs and the CLI’s own colours', () => {
    const ours = '\u001b[32m+ added\u001b[0m\t\u001b[90mgrey\u001b[39m\n';
    expect(terminalSafe(ours)).toBe(ours);
    expect(terminalSafe('a\u001b]52;c;eA==\u0007b\u001b[2J\u001b[8mhid\r\u202eden')).toBe('a]52;c;eA==b[2J[8mhidden');
  });

  it('folds repository text into one line without quadratic work on long runs of spaces', () => {
    expect(terminalLine('one  \n   two\nthree')).toBe('one two three');
    expect(terminalLine(`${' '.repeat(200_000)}x`)).toHaveLength(200_001);
  });
});
