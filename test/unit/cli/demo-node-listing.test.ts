import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { nodeRoles, nodeRow, nodeStatus, renderNodeListing } from '../../../cli/sandbox/node-listing';

function node(
  name: string,
  opts: { ready?: 'True' | 'False'; ip?: string; labels?: Record<string, string>; cordoned?: boolean } = {},
): V1Node {
  return {
    metadata: { name, labels: opts.labels ?? {} },
    spec: opts.cordoned ? { unschedulable: true } : {},
    status: {
      conditions: opts.ready ? [{ type: 'Ready', status: opts.ready }] : [],
      addresses: [
        { type: 'Hostname', address: name },
        ...(opts.ip ? [{ type: 'InternalIP', address: opts.ip }] : []),
      ],
    },
  };
}

describe('node listing', () => {
  it('reads status from the Ready condition as kubectl does', () => {
    expect(nodeStatus(node('a', { ready: 'True' }))).toBe('Ready');
    expect(nodeStatus(node('a', { ready: 'False' }))).toBe('NotReady');
    expect(nodeStatus(node('a'))).toBe('Unknown');
    expect(nodeStatus(node('a', { ready: 'True', cordoned: true }))).toBe('Ready,SchedulingDisabled');
  });

  it('reads roles from node-role labels and the legacy role label, sorted', () => {
    const labels = {
      'node-role.kubernetes.io/worker': '',
      'node-role.kubernetes.io/control-plane': '',
      'kubernetes.io/role': 'edge',
      'node-role.kubernetes.io/': '',
    };
    expect(nodeRoles(node('a', { labels }))).toBe('control-plane,edge,worker');
    expect(nodeRoles(node('a'))).toBe('');
  });

  it('takes the InternalIP address and the task label', () => {
    expect(
      nodeRow(
        node('edge-1mokvl', {
          ready: 'True',
          ip: '172.21.3.194',
          labels: { 'app.superedge.io/node-label': 'nodes-k2x9aa' },
        }),
      ),
    ).toEqual({
      name: 'edge-1mokvl',
      status: 'Ready',
      roles: '',
      internalIp: '172.21.3.194',
      taskLabel: 'nodes-k2x9aa',
    });
  });

  it('renders a kubectl-like table sorted by name, empty cells as <none>', () => {
    const text = renderNodeListing([
      node('vm-2-117-centos', { ready: 'True', ip: '172.21.3.2' }),
      node('edge-1mokvl', {
        ready: 'True',
        ip: '172.21.3.194',
        labels: { 'app.superedge.io/node-label': 'nodes-k2x9aa' },
      }),
      node('edge-8b6tij', {
        ip: '172.21.3.195',
        labels: { 'app.superedge.io/node-label': 'nodes-49ex2a', 'node-role.kubernetes.io/edge': '' },
      }),
    ]);

    expect(text).toBe(
      [
        'NAME              STATUS    ROLES    INTERNAL-IP    TASK-LABEL',
        'edge-1mokvl       Ready     <none>   172.21.3.194   nodes-k2x9aa',
        'edge-8b6tij       Unknown   edge     172.21.3.195   nodes-49ex2a',
        'vm-2-117-centos   Ready     <none>   172.21.3.2     <none>',
        '',
      ].join('\n'),
    );
  });
});
