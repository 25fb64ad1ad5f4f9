import { describe, expect, it } from 'vitest';
import { nextAttemptDelaySeconds, nodeEvents } from '../../../lambdas/domain/node-events';

const base = {
  nodeTask: { name: 'nodes', uid: 'uid-1' },
  executionId: 'arn:exec:1',
  node: { name: 'edge-abc123', ip: '10.0.0.5' },
  now: new Date('2026-11-30T12:00:00Z'),
};

describe('node Events', () => {
  it('doubles the pause per failed attempt, capped by the longest pause', () => {
    expect([1, 2, 3, 4, 5].map((n) => nextAttemptDelaySeconds(n, 30, 600))).toEqual([30, 60, 120, 240, 480]);
    expect(nextAttemptDelaySeconds(6, 30, 600)).toBe(600);
    expect(nextAttemptDelaySeconds(1000, 30, 600)).toBe(600);
  });

  it('writes one change where kubectl describe reads it and in edge-system, under one run-derived name', () => {
    const [forDescribe, inTaskNamespace] = nodeEvents({
      ...base,
      change: { reason: 'Installed', attempt: 2 },
    });
    expect(forDescribe.metadata.namespace).toBe('default');
    expect(forDescribe.involvedObject).toEqual({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      name: 'nodes',
      uid: 'uid-1',
    });
    expect(inTaskNamespace.metadata.namespace).toBe('edge-system');
    expect(inTaskNamespace.involvedObject.namespace).toBe('edge-system');
    expect(forDescribe.metadata.name).toBe(inTaskNamespace.metadata.name);
    expect(forDescribe.message).toBe('node edge-abc123 (10.0.0.5): installed (attempt 2)');
    expect(forDescribe.type).toBe('Normal');
    const again = nodeEvents({ ...base, change: { reason: 'Installed', attempt: 3 } });
    expect(again[0].metadata.name).not.toBe(forDescribe.metadata.name);
  });

  it('bounds and masks the failure reason of a retried attempt, and names the next pause', () => {
    const [event] = nodeEvents({
      ...base,
      change: {
        reason: 'Retrying',
        attempt: 1,
        maxAttempts: 3,
        failure: `sshpass: password=hunter2 rejected\n${'x'.repeat(5000)}`,
        nextDelaySeconds: 30,
      },
    });
    expect(event.type).toBe('Warning');
    expect(event.message).not.toContain('hunter2');
    expect(event.message).toMatch(
      /^node edge-abc123 \(10\.0\.0\.5\): attempt 1 of 3 failed: sshpass: password=\[redacted\] rejected x+…; attempt 2 starts within 30s$/,
    );
    expect(event.message.length).toBeLessThan(400);
  });
});
