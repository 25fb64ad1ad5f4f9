import { describe, expect, it } from 'vitest';
import type { TaskRef } from '../../../lambdas/domain/contracts';
import {
  SPEC_DIGEST_ANNOTATION,
  countsOf,
  finishedStatus,
  nodeProgress,
  nodeTaskForRun,
  nodeTaskOwnerReference,
  startedStatus,
} from '../../../lambdas/domain/node-task-status';

const NOW = new Date('2026-11-30T10:00:00.123Z');

const task: TaskRef = {
  name: 'nodes',
  cluster: 'prod',
  labelValue: 'nodes-abc123',
  mode: 'proxy',
  installer: 'edgeadm',
  credential: 'login-secret',
  sshUser: 'root',
  sshPort: 22,
  executionId: 'arn:exec:1',
  maxAttempts: 3,
  attemptTimeoutSeconds: 900,
  pollSeconds: 15,
  specDigest: 'sha256:0123',
};

describe('the NodeTask a run writes when nobody applied one', () => {
  it('names the machines as the run named them, with the spec digest it was started with', () => {
    const object = nodeTaskForRun(task, { 'edge-a': '10.0.0.1', 'edge-b': '10.0.0.2' }, ['proxy-1']);
    expect(object).toEqual({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      metadata: {
        name: 'nodes',
        labels: { 'app.kubernetes.io/managed-by': 'penetrator', 'penetrator.superedge.io/task': 'nodes' },
        annotations: { [SPEC_DIGEST_ANNOTATION]: 'sha256:0123' },
      },
      spec: {
        nodeNamesOverride: { 'edge-a': '10.0.0.1', 'edge-b': '10.0.0.2' },
        sshCredential: 'login-secret',
        sshPort: 22,
        proxyNode: 'proxy-1',
      },
    });
  });

  it('names no proxy node in direct mode, and says the mode', () => {
    const object = nodeTaskForRun({ ...task, mode: 'direct' }, { 'edge-a': '10.0.0.1' }, []);
    expect(object.spec).not.toHaveProperty('proxyNode');
    expect(object.spec).toMatchObject({ mode: 'direct' });
  });

  it('is the owner of what the task creates, by uid', () => {
    const ref = nodeTaskOwnerReference({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      metadata: { name: 'nodes', uid: 'u-1' },
    });
    expect(ref).toEqual({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      name: 'nodes',
      uid: 'u-1',
      controller: false,
      blockOwnerDeletion: true,
    });
  });
});

describe('the status a run starts with', () => {
  it('lists every machine to install as pending and not installed, the skipped ones as installed', () => {
    const status = startedStatus({
      task,
      nodes: [{ name: 'edge-a', ip: '10.0.0.1' }],
      skipped: [{ name: 'edge-b', ip: '10.0.0.2' }],
      now: NOW,
    });
    expect(status).toMatchObject({
      nodetaskStatus: 'creating',
      nodeStatus: { 'edge-a': '10.0.0.1' },
      labelValue: 'nodes-abc123',
      execution: 'arn:exec:1',
      installed: 1,
      failed: 0,
      total: 2,
      nodes: {
        'edge-a': { ip: '10.0.0.1', state: 'pending', attempts: null, reason: null },
        'edge-b': { ip: '10.0.0.2', state: 'installed', attempts: null, reason: null },
      },
    });
    expect(status.conditions).toEqual([
      expect.objectContaining({
        type: 'Running',
        status: 'True',
        lastTransitionTime: '2026-11-30T10:00:00Z',
      }),
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Installing' }),
    ]);
  });

  it('is ready at once when every machine is installed already', () => {
    const status = startedStatus({
      task,
      nodes: [],
      skipped: [{ name: 'edge-b', ip: '10.0.0.2' }],
      now: NOW,
    });
    expect(status).toMatchObject({ nodetaskStatus: 'ready', nodeStatus: {} });
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Running', status: 'False' }),
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'AllInstalled' }),
    ]);
  });

  it('removes what a previous run recorded for machines this one no longer has', () => {
    const status = startedStatus({
      task,
      nodes: [{ name: 'edge-a', ip: '10.0.0.1' }],
      skipped: [],
      previous: {
        nodeStatus: { 'edge-old': '10.0.0.9' },
        nodes: { 'edge-old': { ip: '10.0.0.9', state: 'failed' } },
      },
      now: NOW,
    });
    expect(status.nodeStatus).toEqual({ 'edge-a': '10.0.0.1', 'edge-old': null });
    expect((status.nodes as Record<string, unknown>)['edge-old']).toBeNull();
  });
});

describe("one node's progress", () => {
  it('leaves the not-installed list once installed, and clears the last reason', () => {
    expect(nodeProgress('edge-a', { ip: '10.0.0.1', state: 'installed', attempts: 2 })).toEqual({
      nodes: { 'edge-a': { ip: '10.0.0.1', state: 'installed', attempts: 2, reason: null } },
      nodeStatus: { 'edge-a': null },
    });
  });

  it('stays in the not-installed list after a failed attempt, with its reason on one bounded line', () => {
    const patch = nodeProgress('edge-a', {
      ip: '10.0.0.1',
      state: 'failed',
      attempts: 1,
      reason: `permission\n denied ${'x'.repeat(1000)}`,
    });
    const entry = (patch.nodes as Record<string, { reason: string }>)['edge-a']!;
    expect(entry.reason.startsWith('permission denied x')).toBe(true);
    expect([...entry.reason]).toHaveLength(256);
    expect(patch.nodeStatus).toEqual({ 'edge-a': '10.0.0.1' });
  });

  it('counts installed and failed machines from the per-node map', () => {
    expect(
      countsOf({
        nodes: {
          a: { ip: '1', state: 'installed' },
          b: { ip: '2', state: 'failed' },
          c: { ip: '3', state: 'installing' },
        },
      }),
    ).toEqual({ installed: 1, failed: 1, total: 3 });
    expect(countsOf(undefined)).toEqual({ installed: 0, failed: 0, total: 0 });
  });
});

describe('the status a run ends with', () => {
  it("records every outcome, keeps each node's attempts, and lists the failed machines as not installed", () => {
    const status = finishedStatus({
      results: [
        { name: 'edge-a', ip: '10.0.0.1', state: 'installed' },
        { name: 'edge-b', ip: '10.0.0.2', state: 'failed', reason: 'raw' },
      ],
      skipped: [{ name: 'edge-c', ip: '10.0.0.3' }],
      reasons: new Map([['edge-b', 'login refused']]),
      previous: {
        nodeStatus: { 'edge-a': '10.0.0.1', 'edge-b': '10.0.0.2' },
        nodes: { 'edge-b': { ip: '10.0.0.2', state: 'failed', attempts: 3 } },
      },
      now: NOW,
    });
    expect(status).toMatchObject({
      nodetaskStatus: 'creating',
      nodeStatus: { 'edge-a': null, 'edge-b': '10.0.0.2' },
      installed: 2,
      failed: 1,
      total: 3,
      nodes: {
        'edge-a': { ip: '10.0.0.1', state: 'installed', reason: null },
        'edge-b': { ip: '10.0.0.2', state: 'failed', attempts: 3, reason: 'login refused' },
        'edge-c': { ip: '10.0.0.3', state: 'installed' },
      },
    });
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Running', status: 'False', reason: 'Finished' }),
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'NodesFailed' }),
    ]);
  });

  it('is ready when every machine is installed', () => {
    const status = finishedStatus({
      results: [{ name: 'edge-a', ip: '10.0.0.1', state: 'installed' }],
      skipped: [],
      reasons: new Map(),
      now: NOW,
    });
    expect(status).toMatchObject({
      nodetaskStatus: 'ready',
      nodeStatus: {},
      installed: 1,
      failed: 0,
      total: 1,
    });
  });
});
