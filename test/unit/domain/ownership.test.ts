import { describe, expect, it } from 'vitest';
import type { NodeObject } from '../../../lambdas/domain/kube-types';
import {
  CONTROL_PLANE_LABELS,
  SITE_ANNOTATION,
  installedNodePatch,
  judgeTargets,
  type BusyMachine,
  type OwnershipInput,
} from '../../../lambdas/domain/ownership';

function node(
  name: string,
  ip: string | undefined,
  extra: { site?: string; controlPlane?: boolean } = {},
): NodeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      ...(extra.controlPlane ? { labels: { [CONTROL_PLANE_LABELS[0]]: '' } } : {}),
      ...(extra.site ? { annotations: { [SITE_ANNOTATION]: extra.site } } : {}),
    },
    status: { addresses: ip === undefined ? [] : [{ type: 'InternalIP', address: ip }] },
  };
}

const PROXY = 'proxy-a';
const SITE_A_NODE = node('edge-a', '192.168.1.10', { site: PROXY });

function input(nodes: NodeObject[], extra: Partial<OwnershipInput> = {}): OwnershipInput {
  return {
    taskName: 'task',
    site: { mode: 'proxy', proxyNodes: [PROXY] },
    nodes: [node(PROXY, '192.168.1.2'), ...nodes],
    busy: [],
    replaceNodes: new Set(),
    ...extra,
  };
}

const at = (name: string, ip: string, path = `spec.nodeNamesOverride.${name}`) => ({ name, ip, path });

describe('judgeTargets', () => {
  it('replaces an old Node at the same address only when it was installed in the task’s site', () => {
    const sameSite = judgeTargets([at('edge-new', '192.168.1.10')], input([SITE_A_NODE]));
    expect(sameSite).toEqual({ judgements: [{ replaces: ['edge-a'], sameName: false }], problems: [] });

    // The same subnet at another site: the Node is another machine and stays.
    const otherSite = judgeTargets(
      [at('edge-new', '192.168.1.10')],
      input([SITE_A_NODE], { site: { mode: 'proxy', proxyNodes: ['proxy-b'] } }),
    );
    expect(otherSite.judgements).toEqual([{ replaces: [], sameName: false }]);

    // A Node with no recorded site is nobody's to delete by address.
    const unrecorded = judgeTargets([at('edge-new', '192.168.1.10')], input([node('old', '192.168.1.10')]));
    expect(unrecorded.judgements).toEqual([{ replaces: [], sameName: false }]);
  });

  it('refuses the task’s proxy node by name and by address, even when listed in replaceNodes', () => {
    const result = judgeTargets(
      [at(PROXY, '192.168.1.50'), at('edge-x', '192.168.1.2', 'spec.targetMachines[1]')],
      input([], { replaceNodes: new Set([PROXY]) }),
    );
    expect(result.problems).toEqual([
      `spec.nodeNamesOverride.${PROXY}: ${PROXY} is a proxy node of this task`,
      `spec.targetMachines[1]: 192.168.1.2 is the address of proxy node ${PROXY} of this task`,
    ]);
  });

  it('refuses a control-plane node by name and by address unless listed in replaceNodes', () => {
    const cp = node('cp-1', '192.168.1.5', { controlPlane: true });
    const refused = judgeTargets([at('cp-1', '192.168.1.5'), at('edge-y', '192.168.1.5')], input([cp]));
    expect(refused.problems).toEqual([
      'spec.nodeNamesOverride.cp-1: Node cp-1 is a control-plane node; list it in spec.replaceNodes to replace it deliberately',
      'spec.nodeNamesOverride.edge-y: 192.168.1.5 is the address of control-plane node cp-1; list it in spec.replaceNodes to replace it deliberately',
    ]);
    const allowed = judgeTargets(
      [at('edge-y', '192.168.1.5')],
      input([cp], { replaceNodes: new Set(['cp-1']) }),
    );
    expect(allowed).toEqual({ judgements: [{ replaces: ['cp-1'], sameName: false }], problems: [] });
  });

  it('refuses to give a machine the name of a Node standing for another machine', () => {
    const result = judgeTargets([at('edge-a', '192.168.1.11')], input([SITE_A_NODE]));
    expect(result.problems).toEqual([
      "spec.nodeNamesOverride.edge-a: Node edge-a is another machine (192.168.1.10); a machine cannot take a running node's name",
    ]);
  });

  it('reinstalls a machine under its own name in its site, and refuses the name of another site’s Node', () => {
    expect(judgeTargets([at('edge-a', '192.168.1.10')], input([SITE_A_NODE])).judgements).toEqual([
      { replaces: [], sameName: true },
    ]);
    const elsewhere = judgeTargets(
      [at('edge-a', '192.168.1.10')],
      input([SITE_A_NODE], { site: { mode: 'proxy', proxyNodes: ['proxy-b'] } }),
    );
    expect(elsewhere.problems).toEqual([
      "spec.nodeNamesOverride.edge-a: Node edge-a was installed through proxy-a, another site than this task's; list it in spec.replaceNodes to replace it deliberately",
    ]);
  });

  it('refuses a machine another task is installing in the same site, not one of another site', () => {
    const busy: BusyMachine[] = [{ task: 'other', job: 'pj-1', ip: '192.168.1.10', proxyNode: PROXY }];
    expect(judgeTargets([at('edge-n', '192.168.1.10')], input([], { busy })).problems).toEqual([
      'spec.nodeNamesOverride.edge-n: 192.168.1.10 is being installed by task other (Job pj-1)',
    ]);
    const elsewhere = [{ ...busy[0]!, proxyNode: 'proxy-b' }];
    expect(judgeTargets([at('edge-n', '192.168.1.10')], input([], { busy: elsewhere })).problems).toEqual([]);
    const ownTask = [{ ...busy[0]!, task: 'task' }];
    expect(judgeTargets([at('edge-n', '192.168.1.10')], input([], { busy: ownTask })).problems).toEqual([]);
  });

  it('treats direct mode as a site of its own', () => {
    const direct = node('edge-d', '203.0.113.7', { site: 'direct' });
    const result = judgeTargets(
      [at('edge-e', '203.0.113.7')],
      input([direct], { site: { mode: 'direct', proxyNodes: [] } }),
    );
    expect(result.judgements).toEqual([{ replaces: ['edge-d'], sameName: false }]);
  });
});

describe('installedNodePatch', () => {
  it('labels the Node with the task and records the site it was installed through', () => {
    expect(installedNodePatch('t-abcdef', PROXY)).toEqual({
      metadata: {
        labels: { 'app.superedge.io/node-label': 't-abcdef' },
        annotations: { [SITE_ANNOTATION]: PROXY },
      },
    });
    expect(installedNodePatch('t-abcdef', '')).toMatchObject({
      metadata: { annotations: { [SITE_ANNOTATION]: 'direct' } },
    });
  });
});
