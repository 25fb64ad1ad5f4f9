import { describe, expect, it } from 'vitest';
import {
  ATTEMPT_LABEL,
  NODE_HASH_LABEL,
  RUN_LABEL,
  TASK_LABEL,
  nodeHash,
  runHash,
} from '../../../lambdas/domain/job-names';
import type { ConfigMapObject, JobObject, LeaseObject } from '../../../lambdas/domain/kube-types';
import {
  nodeViews,
  originalStatus,
  progressOf,
  recordedTask,
  runIsLive,
  type RecordedTask,
} from '../../../lambdas/api/task-view';

const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:prod--nodes--abc123';

function taskObject(): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'penetrator-task-nodes',
      namespace: 'edge-system',
      creationTimestamp: '2026-11-24T10:00:00Z',
    },
    data: {
      spec: JSON.stringify({ sshCredential: 'login-secret', maxAttempts: 2 }),
      specDigest: 'sha256:x',
      labelValue: 'nodes-abc123',
      assignment: JSON.stringify({
        'edge-a': '198.18.1.10',
        'edge-b': '198.18.1.11',
        'edge-c': '198.18.1.12',
      }),
      status: JSON.stringify({ nodetaskStatus: 'creating', nodeStatus: {} }),
      executionId: EXECUTION,
    },
  };
}

function job(node: string, attempt: number, status: JobObject['status'], run = EXECUTION): JobObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `pn-${node}-${attempt}`,
      namespace: 'edge-system',
      labels: {
        [TASK_LABEL]: 'nodes',
        [NODE_HASH_LABEL]: nodeHash(node),
        [RUN_LABEL]: runHash(run),
        [ATTEMPT_LABEL]: String(attempt),
      },
    },
    spec: { backoffLimit: 0, template: {} },
    status,
  };
}

const failed = {
  failed: 1,
  conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
};
const running = { active: 1 };
const succeeded = { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] };

const task = recordedTask(taskObject()) as RecordedTask;

describe('recordedTask', () => {
  it('reads the task object: name, label value, execution, assignment and attempt limit', () => {
    expect(task).toEqual({
      name: 'nodes',
      labelValue: 'nodes-abc123',
      executionId: EXECUTION,
      assignment: { 'edge-a': '198.18.1.10', 'edge-b': '198.18.1.11', 'edge-c': '198.18.1.12' },
      spec: { sshCredential: 'login-secret', maxAttempts: 2 },
      maxAttempts: 2,
      createdAt: '2026-11-24T10:00:00Z',
    });
  });

  it('ignores the script ConfigMap, which carries the same labels', () => {
    expect(recordedTask({ ...taskObject(), metadata: { name: 'penetrator-script-nodes' } })).toBeUndefined();
  });
});

describe('nodeViews', () => {
  it('judges each node by its label and this run’s Jobs while the run is live', () => {
    const jobs = [
      job('edge-a', 1, succeeded),
      job('edge-b', 1, failed),
      job('edge-b', 2, running),
      job('edge-c', 1, failed),
      // Another run's Job says nothing about this one.
      job('edge-c', 1, running, `${EXECUTION}-earlier`),
    ];
    const views = nodeViews({ task, jobs, labelledNodes: new Set(['edge-a']), live: true });

    expect(views.map(({ failedJob: _j, ...v }) => v)).toEqual([
      { name: 'edge-a', ip: '198.18.1.10', state: 'installed', attempts: 1 },
      { name: 'edge-b', ip: '198.18.1.11', state: 'installing', attempts: 2 },
      // Failed once of two attempts: Step Functions retries it.
      { name: 'edge-c', ip: '198.18.1.12', state: 'installing', attempts: 1 },
    ]);
    expect(views[2]!.failedJob?.metadata.name).toBe('pn-edge-c-1');
  });

  it('calls a node failed once its attempts are spent or the run is over, and untried nodes pending', () => {
    const jobs = [job('edge-a', 1, failed), job('edge-a', 2, failed), job('edge-b', 1, succeeded)];
    const live = nodeViews({ task, jobs, labelledNodes: new Set(), live: true });
    expect(live.map((v) => v.state)).toEqual(['failed', 'installing', 'pending']);

    const over = nodeViews({ task, jobs, labelledNodes: new Set(), live: false });
    expect(over.map((v) => v.state)).toEqual(['failed', 'failed', 'pending']);
    expect(over[1]!.reason).toMatch(/did not register/);
  });
});

describe('status in the original shape', () => {
  it('is ready with an empty nodeStatus when every node is installed', () => {
    const nodes = [
      { name: 'a', ip: '1.1.1.1', state: 'installed' as const },
      { name: 'b', ip: '1.1.1.2', state: 'installed' as const },
    ];
    expect(originalStatus(nodes)).toEqual({ nodetaskStatus: 'ready', nodeStatus: {} });
  });

  it('is creating and lists the nodes not installed otherwise', () => {
    const nodes = [
      { name: 'a', ip: '1.1.1.1', state: 'installed' as const },
      { name: 'b', ip: '1.1.1.2', state: 'failed' as const },
      { name: 'c', ip: '1.1.1.3', state: 'pending' as const },
    ];
    expect(originalStatus(nodes)).toEqual({
      nodetaskStatus: 'creating',
      nodeStatus: { b: '1.1.1.2', c: '1.1.1.3' },
    });
    expect(progressOf(nodes)).toEqual({ total: 3, installed: 1, failed: 1, pending: 1 });
  });

  it('is never ready without nodes', () => {
    expect(originalStatus([]).nodetaskStatus).toBe('creating');
  });
});

describe('runIsLive', () => {
  const now = new Date('2026-11-24T10:05:00Z');
  const lease = (holder: string, renewTime = '2026-11-24T10:04:00.000000Z'): LeaseObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'penetrator-lock' },
    spec: { holderIdentity: holder, leaseDurationSeconds: 600, renewTime },
  });
  const unknown = { arn: EXECUTION, status: 'UNKNOWN' as const, startDate: '' };

  it('follows Step Functions when it knows the execution', () => {
    expect(runIsLive(task, { ...unknown, status: 'RUNNING' }, undefined, now)).toBe(true);
    expect(runIsLive(task, { ...unknown, status: 'ABORTED' }, lease('nodes/prod--nodes--abc123'), now)).toBe(
      false,
    );
  });

  it('follows the lock for a run Step Functions never saw (a local run)', () => {
    expect(runIsLive(task, unknown, lease('nodes/prod--nodes--abc123'), now)).toBe(true);
    expect(runIsLive(task, unknown, lease('other/prod--other--zzzzzz'), now)).toBe(false);
    expect(
      runIsLive(task, unknown, lease('nodes/prod--nodes--abc123', '2026-11-24T09:00:00.000000Z'), now),
    ).toBe(false);
  });
});
