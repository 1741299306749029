import { describe, expect, it } from 'vitest';
import { describeChanges } from '../../shared/plan/change-summary.ts';
import { diffTemplates } from '../../shared/plan/template-diff.ts';
import { rendered } from './rendered-fixture.ts';

const bucket = (name: string) => ({ Type: 'AWS::S3::Bucket', Properties: { BucketName: name } });
const queue = (delay: number) => ({ Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: delay } });

describe('diffTemplates', () => {
  it('treats a stack that was never applied as all additions', async () => {
    // Prepare
    const next = rendered({
      template: { Parameters: { Size: { Type: 'String' } }, Resources: { Logs: bucket('logs'), Jobs: queue(0) } },
      parameters: { Size: 'small' },
      tags: { team: 'infra' },
    });

    // Act
    const result = await diffTemplates(undefined, next);

    // Assess
    expect(result.hasChanges).toBe(true);
    expect(result.changes).toEqual({
      added: ['Jobs', 'Logs'],
      modified: [],
      removed: [],
      replaced: [],
      parametersChanged: ['Size'],
      tagsChanged: ['team'],
    });
    expect(result.diffText).toContain('[+] AWS::S3::Bucket Logs');
  });

  it('sorts resources into added, modified, removed and replaced (a new BucketName replaces the bucket)', async () => {
    // Prepare
    const previous = rendered({ template: { Resources: { Logs: bucket('logs-a'), Jobs: queue(0), Old: queue(1) } } });
    const next = rendered({ template: { Resources: { Logs: bucket('logs-b'), Jobs: queue(5), Fresh: queue(2) } } });

    // Act
    const result = await diffTemplates(previous, next);

    // Assess
    expect(result.changes.added).toEqual(['Fresh']);
    expect(result.changes.modified).toEqual(['Jobs']);
    expect(result.changes.removed).toEqual(['Old']);
    expect(result.changes.replaced).toEqual(['Logs']);
    expect(result.diffText).toMatch(/AWS::S3::Bucket Logs replace/);
    expect(result.diffText).toContain('BucketName (requires replacement)');
    expect(describeChanges(result.changes)).toBe('1 added, 1 modified, 1 replaced, 1 removed');
  });

  it('reports parameter value and tag changes even when the template is unchanged', async () => {
    // Prepare
    const template = {
      Parameters: { Size: { Type: 'String' }, Tier: { Type: 'String', Default: 'gold' } },
      Resources: { Jobs: queue(0) },
    };
    const previous = rendered({ template, parameters: { Size: 'small' }, tags: { team: 'infra', cost: 'a' } });
    const next = rendered({
      template: { ...template, Parameters: { ...template.Parameters, Tier: { Type: 'String', Default: 'silver' } } },
      parameters: { Size: 'large' },
      tags: { team: 'infra', owner: 'ops' },
    });

    // Act
    const result = await diffTemplates(previous, next);

    // Assess
    expect(result.hasChanges).toBe(true);
    expect(result.changes.parametersChanged).toEqual(['Size', 'Tier']);
    expect(result.changes.tagsChanged).toEqual(['cost', 'owner']);
    expect(result.changes.added).toEqual([]);
    expect(result.diffText).toContain('[~] Size: "small" → "large"');
    expect(result.diffText).toContain('[+] owner: (none) → "ops"');
    expect(result.diffText).toContain('[-] cost: "a" → (none)');
  });

  it('never prints the value of a NoEcho parameter', async () => {
    // Prepare
    const template = { Parameters: { DbPassword: { Type: 'String', NoEcho: true } }, Resources: { Jobs: queue(0) } };
    const previous = rendered({ template, parameters: { DbPassword: 'old-value-1' } });
    const next = rendered({ template, parameters: { DbPassword: 'new-value-2' } });

    // Act
    const result = await diffTemplates(previous, next);

    // Assess
    expect(result.changes.parametersChanged).toEqual(['DbPassword']);
    expect(result.diffText).not.toContain('old-value-1');
    expect(result.diffText).not.toContain('new-value-2');
  });

  it('says there is nothing to do when template, parameters and tags are the same', async () => {
    // Prepare
    const stack = rendered({ template: { Resources: { Jobs: queue(0) } }, parameters: {}, tags: { a: 'b' } });

    // Act
    const result = await diffTemplates(stack, { ...stack, revision: '2'.repeat(40) });

    // Assess
    expect(result.hasChanges).toBe(false);
    expect(describeChanges(result.changes)).toBe('no changes');
    expect(result.diffText).toBe('no changes\n');
  });

  it('colours the text only when asked', async () => {
    // Prepare
    const previous = rendered({ template: { Resources: { Logs: bucket('a') } } });
    const next = rendered({ template: { Resources: { Logs: bucket('b') } } });

    // Act
    const plain = await diffTemplates(previous, next, { color: false });
    const coloured = await diffTemplates(previous, next, { color: true });

    // Assess
    expect(plain.diffText).not.toContain('\x1b[');
    expect(coloured.diffText).toContain('\x1b[');
  });
});
