import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigMapObject, JobObject } from '../../../lambdas/domain/kube-types';
import { createMetrics, localMetrics, noMetrics } from '../../../lambdas/observability';
import { installDurationSeconds } from '../../../lambdas/use-cases/check-install';
import { parseStatusChange, rebuildTaskRef, taskOfInput } from '../../../lambdas/use-cases/execution-ended';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:edge--nodes--a1b2c3';

describe('the execution status change', () => {
  it('takes the execution and its status from the event', () => {
    expect(parseStatusChange({ detail: { executionArn: ARN, status: 'TIMED_OUT', input: '{}' } })).toEqual({
      executionArn: ARN,
      status: 'TIMED_OUT',
    });
  });

  it('refuses statuses after which nothing needs cleaning', () => {
    expect(() => parseStatusChange({ detail: { executionArn: ARN, status: 'SUCCEEDED' } })).toThrow(
      'event.detail.status: expected one of ABORTED, TIMED_OUT, FAILED',
    );
  });
});

describe('taskOfInput', () => {
  it('names the task and the cluster, the input winning over spec.cluster', () => {
    const nodeTask = { metadata: { name: 'nodes' }, spec: { cluster: 'from-spec' } };
    expect(taskOfInput({ nodeTask, cluster: 'edge' })).toEqual({ name: 'nodes', cluster: 'edge' });
    expect(taskOfInput({ nodeTask })).toEqual({ name: 'nodes', cluster: 'from-spec' });
    expect(taskOfInput({ nodeTask: { metadata: { name: 'nodes' } } })).toEqual({ name: 'nodes' });
  });

  it("says why a Map child's input or a foreign one names no task", () => {
    expect(taskOfInput({ task: { name: 'nodes' }, node: { name: 'edge-a' } })).toBe(
      'the execution input holds no NodeTask name',
    );
    expect(taskOfInput(undefined)).toBe('the execution input holds no NodeTask name');
  });
});

describe('rebuildTaskRef', () => {
  const object: ConfigMapObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'penetrator-task-nodes', namespace: 'edge-system', uid: 'uid-1' },
    data: {
      labelValue: 'nodes-x1y2z3',
      executionId: ARN,
      spec: JSON.stringify({ sshCredential: 'login-secret', sshUser: 'admin', sshPort: 2222, mode: 'proxy' }),
    },
  };

  it('is the prepared task when the task object records this execution, so cleanup can write its Event', () => {
    expect(rebuildTaskRef('nodes', 'edge', ARN, object)).toMatchObject({
      name: 'nodes',
      cluster: 'edge',
      executionId: ARN,
      labelValue: 'nodes-x1y2z3',
      credential: 'login-secret',
      sshUser: 'admin',
      sshPort: 2222,
      ownerUid: 'uid-1',
      taskObject: 'penetrator-task-nodes',
      credentialSecret: 'penetrator-credential-nodes',
      scriptConfigMap: 'penetrator-script-nodes',
    });
  });

  it('without a task object it carries only what releasing the lock needs', () => {
    const ref = rebuildTaskRef('nodes', 'edge', ARN, undefined);
    expect(ref).toMatchObject({ name: 'nodes', cluster: 'edge', executionId: ARN });
    expect(ref.ownerUid).toBeUndefined();
    expect(ref.taskObject).toBeUndefined();
  });
});

describe('install metrics', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("measures an install from the Job's start to its completion", () => {
    const job = (status: Record<string, string>) =>
      ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status }) as unknown as JobObject;
    expect(
      installDurationSeconds(
        job({ startTime: '2026-11-24T10:00:00Z', completionTime: '2026-11-24T10:02:30Z' }),
      ),
    ).toBe(150);
    expect(installDurationSeconds(job({ startTime: '2026-11-24T10:00:00Z' }))).toBeUndefined();
  });

  it('writes each value as EMF twice: per cluster and for the fleet', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    createMetrics().record('NodesFailed', 3, 'edge');
    const emitted = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emitted).toHaveLength(2);
    expect(emitted[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Penetrator', Dimensions: [['service', 'cluster']] }] },
      cluster: 'edge',
      NodesFailed: 3,
    });
    expect(emitted[1]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Penetrator', Dimensions: [['service']] }] },
      NodesFailed: 3,
    });
    expect(emitted[1]).not.toHaveProperty('cluster');
  });

  it('records nothing in local runs unless PENETRATOR_METRICS=1', () => {
    expect(localMetrics({})).toBe(noMetrics);
    expect(localMetrics({ PENETRATOR_METRICS: '1' })).not.toBe(noMetrics);
  });
});
