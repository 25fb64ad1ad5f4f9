import { describe, expect, it } from 'vitest';
import { NODE_TASK_LABEL } from '../../../lambdas/domain/contracts';
import type { JobObject, NodeObject } from '../../../lambdas/domain/kube-types';
import { forEachLimited } from '../../../lambdas/use-cases/common';
import { jobAttempt, jobPhase } from '../../../lambdas/use-cases/job-status';
import { SITE_ANNOTATION } from '../../../lambdas/domain/ownership';
import { buildWorkList } from '../../../lambdas/use-cases/plan';
import { resolveSettings, settingsFromEnv, settingsDefaults } from '../../../lambdas/settings';

function node(name: string, ip: string, label?: string, site?: string): NodeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      ...(label ? { labels: { [NODE_TASK_LABEL]: label } } : {}),
      ...(site ? { annotations: { [SITE_ANNOTATION]: site } } : {}),
    },
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}

describe('buildWorkList', () => {
  const targets = [
    { name: 'a', ip: '198.18.0.1', path: 'spec.targetMachines[0]' },
    { name: 'b', ip: '198.18.0.2', path: 'spec.targetMachines[1]' },
    { name: 'c', ip: '198.18.0.3', path: 'spec.targetMachines[2]' },
    { name: 'd', ip: '198.18.0.4', path: 'spec.targetMachines[3]' },
  ];
  const ownership = (nodes: NodeObject[], proxyNodes: string[]) => ({
    taskName: 'task',
    site: { mode: proxyNodes.length > 0 ? ('proxy' as const) : ('direct' as const), proxyNodes },
    nodes,
    busy: [],
    replaceNodes: new Set<string>(),
  });

  it('skips Nodes carrying the task label, reinstalls by name or by address within the site, and deals proxies round-robin', () => {
    const work = buildWorkList(
      targets,
      ownership(
        [
          node('a', '198.18.0.1', 'task-x1y2z3'),
          node('b', '198.18.0.2', 'older-abcdef'),
          node('old-c', '198.18.0.3', 'older-abcdef', 'p2'),
          node('other-d', '198.18.0.4', 'older-abcdef', 'elsewhere'),
        ],
        ['p1', 'p2'],
      ),
      'task-x1y2z3',
    );
    expect(work.problems).toEqual([]);
    expect(work.skipped).toEqual([{ name: 'a', ip: '198.18.0.1' }]);
    expect(work.nodes).toEqual([
      { name: 'b', ip: '198.18.0.2', proxyNode: 'p1', reinstall: true },
      { name: 'c', ip: '198.18.0.3', proxyNode: 'p2', reinstall: true, replaces: ['old-c'] },
      // Same address, another site: another machine, left alone.
      { name: 'd', ip: '198.18.0.4', proxyNode: 'p1', reinstall: false },
    ]);
  });

  it('leaves the proxy empty in direct mode', () => {
    expect(buildWorkList(targets.slice(0, 1), ownership([], []), 'l').nodes).toEqual([
      { name: 'a', ip: '198.18.0.1', proxyNode: '', reinstall: false },
    ]);
  });

  it('installs none of the refused targets and names each by its field path', () => {
    const work = buildWorkList(targets.slice(0, 2), ownership([node('p1', '198.18.0.2')], ['p1']), 'l');
    expect(work.nodes).toEqual([{ name: 'a', ip: '198.18.0.1', proxyNode: 'p1', reinstall: false }]);
    expect(work.problems).toEqual([
      'spec.targetMachines[1]: 198.18.0.2 is the address of proxy node p1 of this task',
    ]);
  });
});

describe('jobPhase', () => {
  const job = (status: JobObject['status'], attempt = '2'): JobObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', labels: { 'penetrator.superedge.io/attempt': attempt } },
    spec: { backoffLimit: 0, template: {} },
    status,
  });

  it('reads the outcome from the conditions, the early ones included', () => {
    expect(jobPhase(job({ active: 1 }))).toBe('Running');
    expect(jobPhase(job(undefined))).toBe('Running');
    expect(jobPhase(job({ conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] }))).toBe('Succeeded');
    expect(jobPhase(job({ conditions: [{ type: 'Complete', status: 'True' }] }))).toBe('Succeeded');
    expect(
      jobPhase(job({ conditions: [{ type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' }] })),
    ).toBe('Failed');
    expect(jobPhase(job({ conditions: [{ type: 'Failed', status: 'True' }] }))).toBe('Failed');
    expect(jobPhase(job({ conditions: [{ type: 'Failed', status: 'False' }], active: 1 }))).toBe('Running');
    expect(jobAttempt(job({}))).toBe(2);
    expect(jobAttempt(job({}, 'x'))).toBe(0);
  });
});

describe('forEachLimited', () => {
  it('never runs more than the limit at once, runs every item, and rethrows the first error', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    const work = async (i: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      seen.push(i);
      running--;
      if (i === 3) throw new Error('item 3');
    };
    await expect(forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, work)).rejects.toThrow('item 3');
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('runtime settings', () => {
  it('reads the environment the stack sets, with defaults for the rest', () => {
    expect(
      settingsFromEnv({
        PENETRATOR_SECRET_PREFIX: 'team-a/',
        PENETRATOR_INSTALLER_IMAGE: 'registry.example/installer:1.2',
        PENETRATOR_PACKAGE_SOURCE: '{"kind":"hostPath","path":"/srv/edge"}',
        PENETRATOR_DEFAULT_CLUSTER: 'prod',
        PENETRATOR_JOB_TTL_SECONDS: '600',
      }),
    ).toEqual({
      ...settingsDefaults,
      secretPrefix: 'team-a/',
      installerImage: 'registry.example/installer:1.2',
      packageSource: { kind: 'hostPath', path: '/srv/edge' },
      defaultCluster: 'prod',
      jobTtlSecondsAfterFinished: 600,
    });
    expect(settingsFromEnv({})).toEqual(settingsDefaults);
  });

  it('takes a package URL over https only', () => {
    expect(() =>
      resolveSettings({ packageSource: { kind: 'url', url: 'http://pkg.example/e.tgz' } }),
    ).toThrow('packageSource.url: received "http://pkg.example/e.tgz"; expected an https URL');
    expect(
      resolveSettings({ packageSource: { kind: 'url', url: 'https://pkg.example/e.tgz' } }).packageSource,
    ).toEqual({ kind: 'url', url: 'https://pkg.example/e.tgz' });
  });

  it('reads requireKnownHosts as true or false only', () => {
    expect(settingsDefaults.requireKnownHosts).toBe(false);
    expect(settingsFromEnv({ PENETRATOR_REQUIRE_KNOWN_HOSTS: 'true' }).requireKnownHosts).toBe(true);
    expect(settingsFromEnv({ PENETRATOR_REQUIRE_KNOWN_HOSTS: 'false' }).requireKnownHosts).toBe(false);
    expect(() => settingsFromEnv({ PENETRATOR_REQUIRE_KNOWN_HOSTS: 'yes' })).toThrow(
      /PENETRATOR_REQUIRE_KNOWN_HOSTS: received "yes"; expected true or false/,
    );
  });

  it('lists every problem at once', () => {
    expect(() =>
      settingsFromEnv({ PENETRATOR_PACKAGE_SOURCE: 'not json', PENETRATOR_TASK_DEADLINE_SECONDS: 'soon' }),
    ).toThrow(/PENETRATOR_PACKAGE_SOURCE[\s\S]*PENETRATOR_TASK_DEADLINE_SECONDS/);
    expect(() =>
      resolveSettings({ packageSource: { kind: 'hostPath', path: 'relative' }, taskDeadlineSeconds: 5 }),
    ).toThrow(/packageSource.path[\s\S]*taskDeadlineSeconds/);
  });
});
