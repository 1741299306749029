import { describe, expect, it } from 'vitest';
import { DetailType } from '../../shared/events/catalog.ts';
import { commitStatusFor } from '../../shared/notify/commit-status.ts';
import { formatChatNotification } from '../../shared/notify/format-chat.ts';
import { formatPlainText, SUBJECT_MAX } from '../../shared/notify/format-plain.ts';
import { formatSlack } from '../../shared/notify/format-slack.ts';
import { registerSecret } from '../../shared/sanitize.ts';
import { event, failed, SHA } from './events.ts';

const drift = () =>
  event(DetailType.DriftDetected, {
    reason: 'Drifted',
    message: '1 resource(s) of web-prod drifted: Queue MODIFIED',
    resources: [
      {
        logicalId: 'Queue',
        type: 'AWS::SQS::Queue',
        status: 'MODIFIED',
        differences: [{ path: '/VisibilityTimeout', expected: '30', actual: '60', kind: 'NOT_EQUAL' }],
      },
    ],
  });

describe('formatPlainText', () => {
  it('names the stack, environment, what happened and the failing resource, with what to do', () => {
    const { subject, body } = formatPlainText(failed());
    expect(subject).toBe('[FAILED] prod/web: sync failed (ChangeSetFailed) at 3f78685');
    expect(body).toContain('stack web-prod, eu-west-1');
    expect(body).toContain(`Revision:  ${SHA}`);
    expect(body).toContain(`Commit:    https://github.com/acme/infra/commit/${SHA}`);
    expect(body).toContain('Author:    Ada Lovelace');
    expect(body).toContain('Message:   Grow the bucket');
    expect(body).toContain('Failing resources:\n  - Bucket (AWS::S3::Bucket): web-prod-bucket already exists');
    expect(body).toMatch(/What to do: Fix the failing resource/);
    expect(body).toContain(
      'https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks?filteringText=web-prod',
    );
  });

  it.each([
    { name: 'a long stack name', stack: 'a-very-long-stack-name-that-goes-on-and-on-and-on-and-on-forever-and-ever' },
    { name: 'non-ASCII text', stack: 'café-ünïcödé-栈' },
  ])('keeps the subject SNS-valid for $name', ({ stack }) => {
    const { subject } = formatPlainText(failed({ stack }));
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject).toContain('prod/');
  });

  it('lists drifted resources with the paths that differ, never their values', () => {
    const { subject, body } = formatPlainText(drift());
    expect(subject).toBe('[WARNING] prod/web: drift detected (Drifted) at 3f78685');
    expect(body).toContain('Drifted resources:\n  - Queue (AWS::SQS::Queue) MODIFIED: /VisibilityTimeout NOT_EQUAL\n');
    expect(body).not.toMatch(/expected|actual|\b30\b|\b60\b/);
  });

  it('never shows a registered secret', () => {
    registerSecret('hunter2-secret-value');
    const { body } = formatPlainText(failed({ message: 'clone of https://x:hunter2-secret-value@github.com failed' }));
    expect(body).not.toContain('hunter2-secret-value');
  });
});

describe('formatChatNotification', () => {
  it('builds an Amazon Q Developer custom notification naming the stack and resource', () => {
    const n = formatChatNotification(failed());
    expect(n.version).toBe('1.0');
    expect(n.source).toBe('custom');
    expect(n.content.textType).toBe('client-markdown');
    expect(n.content.title).toBe(':x: prod/web: sync failed');
    expect(n.content.description).toContain('Bucket (AWS::S3::Bucket)');
    expect(n.content.description).toContain(
      `[\`3f78685\`](https://github.com/acme/infra/commit/${SHA}) by Ada Lovelace: Grow the bucket`,
    );
    expect(n.content.nextSteps?.[0]).toMatch(/Fix the failing resource/);
    expect(n.metadata?.threadId).toBe('lambda-gitops/prod/web');
    expect(JSON.parse(JSON.stringify(n))).toEqual(n);
  });
});

describe('formatSlack', () => {
  it('gives a fallback text and blocks naming the stack and failing resource', () => {
    const m = formatSlack(failed());
    expect(m.text).toContain('prod/web: sync failed');
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('Bucket (AWS::S3::Bucket)');
    expect(text).toContain(`<https://github.com/acme/infra/commit/${SHA}|3f78685>`);
    expect(m.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'prod/web: sync failed', emoji: true },
    });
  });
});

describe('commitStatusFor', () => {
  it.each([
    { type: DetailType.ApplyRequested, reason: 'Requested', state: 'pending' },
    { type: DetailType.SyncSucceeded, reason: 'Applied', state: 'success' },
    { type: DetailType.SyncFailed, reason: 'ChangeSetFailed', state: 'failure' },
    { type: DetailType.SyncFailed, reason: 'Throttled', state: 'error' },
    { type: DetailType.SyncSkipped, reason: 'Superseded', state: 'error' },
    { type: DetailType.HealthDegraded, reason: 'HealthCheckFailed', state: 'failure' },
  ])('$type ($reason) → $state', ({ type, reason, state }) => {
    const status = commitStatusFor(event(type, { reason, message: 'm'.repeat(300) }));
    expect(status).toMatchObject({ sha: SHA, state, context: 'lambda-gitops/prod/web' });
    expect(status?.description.length).toBeLessThanOrEqual(140);
    expect(status?.target_url).toContain('console.aws.amazon.com/cloudformation');
  });

  it.each([DetailType.DriftDetected, DetailType.PushReceived])('sets no status for %s', (type) => {
    expect(commitStatusFor(event(type, { reason: 'x' }))).toBeUndefined();
  });
});
