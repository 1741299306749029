import { describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.ts';
import { GitOpsError, Reason, toGitOpsError } from '../../shared/errors.ts';
import { consoleLogger, silentLogger } from '../../shared/log.ts';
import { registerSecret } from '../../shared/sanitize.ts';

const fixed = () => new Date('2024-05-01T10:00:00.000Z');

function collector() {
  const lines: string[] = [];
  return { lines, stream: { write: (chunk: string) => lines.push(chunk) } };
}

describe('systemClock', () => {
  it('sleeps for about the time asked', async () => {
    // Act
    const start = Date.now();
    await systemClock.sleep(30);

    // Assess
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
  });

  it('stops sleeping with an AbortError when the signal aborts', async () => {
    // Prepare
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    // Act: a sleep of an hour; a sleep that ignored the signal would never end (the test's hang guard fails it).
    const error = await systemClock.sleep(3_600_000, controller.signal).catch((err: unknown) => err);

    // Assess
    expect((error as Error).name).toBe('AbortError');
    expect(toGitOpsError(error).reason).toBe(Reason.DeadlineExceeded);
  });
});

describe('consoleLogger', () => {
  it('writes readable one-liners at or above its level', () => {
    // Prepare
    const { lines, stream } = collector();
    const log = consoleLogger({ level: 'info', stream, now: fixed });

    // Act
    log.debug('hidden');
    log.info('synced', { stack: 'prod/web', count: 2, note: 'two words' });
    log.error('failed');

    // Assess
    expect(lines).toEqual([
      '2024-05-01T10:00:00.000Z INFO  synced stack=prod/web count=2 note="two words"\n',
      '2024-05-01T10:00:00.000Z ERROR failed\n',
    ]);
  });

  it('writes JSON lines with errors expanded', () => {
    // Prepare
    const { lines, stream } = collector();
    const log = consoleLogger({ json: true, level: 'debug', stream, now: fixed });

    // Act
    log.warn('apply failed', { error: new GitOpsError(Reason.StackBusy, 'stack busy', { retryable: true }) });

    // Assess
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      level: 'warn',
      message: 'apply failed',
      error: { name: 'GitOpsError', message: 'stack busy', reason: 'StackBusy' },
    });
  });

  it.each([false, true])('never writes a secret or a credential URL (json=%s)', (json) => {
    // Prepare
    registerSecret('logger-secret-"quoted"');
    const { lines, stream } = collector();
    const log = consoleLogger({ json, stream, now: fixed });

    // Act
    log.info('cloning https://user:ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/a/b.git', {
      secret: 'logger-secret-"quoted"',
      error: new Error('auth with logger-secret-"quoted" failed'),
    });

    // Assess
    const text = lines.join('');
    expect(text).not.toContain('logger-secret');
    expect(text).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123');
    expect(text).not.toContain('user:');
  });

  it('silentLogger writes nothing and does not throw', () => {
    // Act / Assess
    expect(() => silentLogger.error('x', { a: 1 })).not.toThrow();
  });
});
