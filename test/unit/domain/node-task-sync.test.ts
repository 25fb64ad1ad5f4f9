import { describe, expect, it } from 'vitest';
import {
  SYNC_FINALIZER,
  notStartedCondition,
  syncDecision,
  withSyncFinalizer,
  type ListedNodeTask,
} from '../../../lambdas/domain/node-task-sync';

const NOW = new Date('2026-11-30T12:00:00.123Z');

function listed(
  metadata: Partial<ListedNodeTask['metadata']> = {},
  spec: Record<string, unknown> = {},
  status?: ListedNodeTask['status'],
): ListedNodeTask {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name: 'nodes', uid: 'u-1', resourceVersion: '7', ...metadata },
    spec: {
      nodeNamePrefix: 'edge',
      targetMachines: ['172.21.3.194'],
      sshCredential: 'login-secret',
      proxyNode: 'proxy-0',
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

describe('what the sync does with one NodeTask', () => {
  it('starts a NodeTask applied with kubectl, with the validated document and the finalizer still to add', () => {
    const decision = syncDecision(listed({ labels: { team: 'edge' } }), 'prod');
    expect(decision).toEqual({
      action: 'start',
      marked: false,
      task: {
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name: 'nodes' },
        spec: expect.objectContaining({ targetMachines: ['172.21.3.194'], proxyNode: 'proxy-0' }) as unknown,
      },
    });
  });

  it('starts one it marked and that has no run in its status yet, saying so (a run may exist)', () => {
    const decision = syncDecision(listed({ finalizers: ['other/keep', SYNC_FINALIZER] }), 'prod');
    expect(decision).toMatchObject({ action: 'start', marked: true });
  });

  it('leaves a NodeTask a run has started: its status names the execution', () => {
    const status = { execution: 'arn:aws:states:eu-west-1:1:execution:m:prod--nodes--abc123' };
    expect(syncDecision(listed({ finalizers: [SYNC_FINALIZER] }, {}, status), 'prod').action).toBe('leave');
    expect(syncDecision(listed({}, {}, status), 'prod').action).toBe('leave');
  });

  it('leaves a NodeTask the product wrote for a task started through the API', () => {
    const decision = syncDecision(
      listed({ labels: { 'app.kubernetes.io/managed-by': 'penetrator' } }),
      'prod',
    );
    expect(decision).toEqual({ action: 'leave', why: 'written by the product for a task it started' });
  });

  it('releases a NodeTask being deleted only when it carries our finalizer', () => {
    const deleting = { deletionTimestamp: '2026-11-30T11:59:00Z' };
    expect(syncDecision(listed({ ...deleting, finalizers: [SYNC_FINALIZER] }), 'prod')).toEqual({
      action: 'release',
    });
    expect(syncDecision(listed({ ...deleting, finalizers: ['other/keep'] }), 'prod').action).toBe('leave');
    // Even when its spec is invalid or it was started: deletion comes first.
    expect(
      syncDecision(listed({ ...deleting, finalizers: [SYNC_FINALIZER] }, { targetMachines: ['x'] }), 'prod'),
    ).toEqual({ action: 'release' });
  });

  it('refuses an invalid NodeTask with every problem and its field path', () => {
    const decision = syncDecision(listed({}, { targetMachines: ['172.21.3.300'], sshPort: 0 }), 'prod');
    expect(decision.action).toBe('refuse');
    const problems = (decision as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^spec\.targetMachines\[0\]: "172\.21\.3\.300" is not an IPv4 or IPv6 address/),
        expect.stringMatching(/^spec\.sshPort: /),
      ]),
    );
  });

  it('refuses a NodeTask whose spec names another cluster than the one it is in', () => {
    expect(syncDecision(listed({}, { cluster: 'staging' }), 'prod')).toEqual({
      action: 'refuse',
      problems: ['spec.cluster: names cluster staging, but this NodeTask is in cluster prod'],
    });
    expect(syncDecision(listed({}, { cluster: 'prod' }), 'prod').action).toBe('start');
  });
});

describe('the finalizer', () => {
  it('is added after the others and removed alone', () => {
    const nodeTask = listed({ finalizers: ['other/keep'] });
    expect(withSyncFinalizer(nodeTask, true)).toEqual(['other/keep', SYNC_FINALIZER]);
    const marked = listed({ finalizers: [SYNC_FINALIZER, 'other/keep'] });
    expect(withSyncFinalizer(marked, true)).toEqual(['other/keep', SYNC_FINALIZER]);
    expect(withSyncFinalizer(marked, false)).toEqual(['other/keep']);
    expect(withSyncFinalizer(listed(), false)).toEqual([]);
  });
});

describe('the condition of a NodeTask not started', () => {
  it('says why, as Ready=False, with the time to the second', () => {
    expect(notStartedCondition(listed(), 'InvalidSpec', 'spec.sshPort: too small', NOW)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      message: 'spec.sshPort: too small',
      lastTransitionTime: '2026-11-30T12:00:00Z',
    });
  });

  it('is not written again when the NodeTask says so already, so a second sync writes nothing', () => {
    const first = notStartedCondition(listed(), 'ClusterBusy', 'cluster prod is busy', NOW)!;
    const said = listed({}, {}, { conditions: [first] });
    expect(notStartedCondition(said, 'ClusterBusy', 'cluster prod is busy', NOW)).toBeUndefined();
    expect(notStartedCondition(said, 'InvalidSpec', 'spec.sshPort: too small', NOW)).toMatchObject({
      reason: 'InvalidSpec',
    });
  });

  it('keeps a message of any number of problems to a bounded length', () => {
    const message = 'spec.targetMachines[0]: bad; '.repeat(1000);
    const condition = notStartedCondition(listed(), 'InvalidSpec', message, NOW)!;
    expect([...condition.message].length).toBe(1024);
    expect(condition.message.endsWith('…')).toBe(true);
  });
});
