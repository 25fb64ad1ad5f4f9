import { describe, expect, it } from 'vitest';
import {
  costPer1000NodesUsd,
  FIGURE_NAMES,
  figures,
  idealSeconds,
  PRICES_USD,
  type RunCounts,
} from '../../../scripts/bench/figures';
import { failsByName } from '../../../sandbox/kubelet/simulated-install';
import { benchMachineIp, pollStates } from '../../../scripts/bench/workload';

const counts: RunCounts = {
  nodes: 1000,
  concurrency: 100,
  installSeconds: 30,
  wallSeconds: 330,
  apiserverRequests: 9000,
  apiserverPollRequests: 4000,
  transitions: 15_000,
  pollTransitions: 6000,
  lambdaInvocations: 4000,
  lambdaGbSeconds: 200,
  runnerPeakRssBytes: 300 * 1024 * 1024,
  bundles: [
    { name: 'Plan', bytes: 900_000, coldLoadMs: 120 },
    { name: 'CheckInstall', bytes: 700_000, coldLoadMs: 140.25 },
  ],
};

describe('the benchmark figures', () => {
  it('takes the ideal time as whole rounds of C installs, never more installs at once than nodes', () => {
    expect(idealSeconds(1000, 100, 30)).toBe(300);
    expect(idealSeconds(1001, 100, 30)).toBe(330);
    expect(idealSeconds(10_000, 200, 5)).toBe(250);
    expect(idealSeconds(3, 10, 30)).toBe(30);
  });

  it('prices transitions, GB-seconds and requests at the cited list prices, per 1000 nodes', () => {
    const one = { nodes: 1000, transitions: 1000, lambdaInvocations: 0, lambdaGbSeconds: 0 };
    expect(costPer1000NodesUsd(one)).toBeCloseTo(0.025, 10);
    expect(costPer1000NodesUsd({ ...one, transitions: 0, lambdaGbSeconds: 1 })).toBeCloseTo(
      PRICES_USD.lambdaArmGbSecond,
      12,
    );
    expect(
      costPer1000NodesUsd({ ...one, nodes: 500, transitions: 0, lambdaInvocations: 1_000_000 }),
    ).toBeCloseTo(0.4, 10);
  });

  it('prints every figure by name, per node where the name says so', () => {
    const values = Object.fromEntries(figures(counts));
    expect(Object.keys(values)).toEqual([...FIGURE_NAMES]);
    expect(values).toMatchObject({
      wall_s: 330,
      ideal_s: 300,
      overhead_ratio: 1.1,
      apiserver_requests_per_node: 9,
      apiserver_requests_per_node_excl_polls: 5,
      state_transitions_per_node: 15,
      state_transitions_per_node_excl_polls: 9,
      lambda_invocations_per_node: 4,
      runner_peak_rss_mb: 300,
      largest_bundle_bytes: 900_000,
      slowest_cold_load_ms: 140.3,
    });
    // 15,000 × 0.025/1000 + 200 × 0.0000133334 + 4000 × 0.2/1e6, for 1000 nodes.
    expect(values.aws_cost_per_1000_nodes_usd).toBeCloseTo(0.375 + 0.0027 + 0.0008, 4);
  });
});

describe('the simulated installs and the workload', () => {
  it('fails about the asked fraction of Pods, the same Pods every time, none at 0 and all at 1', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `penetrator-install-${i}-abcde`);
    const failing = names.filter((n) => failsByName(n, 0.1));
    expect(failing.length).toBeGreaterThan(140);
    expect(failing.length).toBeLessThan(260);
    expect(names.filter((n) => failsByName(n, 0.1))).toEqual(failing);
    expect(names.some((n) => failsByName(n, 0))).toBe(false);
    expect(names.every((n) => failsByName(n, 1))).toBe(true);
  });

  it('gives every machine a distinct host address', () => {
    const ips = Array.from({ length: 20_000 }, (_, i) => benchMachineIp(i));
    expect(new Set(ips).size).toBe(ips.length);
    for (const ip of ips) expect(ip).toMatch(/^10\.\d+\.\d+\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|250)$/);
  });

  it('counts as polls the Wait, the check Task and the Choice after it, nothing else', () => {
    const definition = {
      States: {
        'Plan task': { Type: 'Task', Next: 'Install nodes' },
        'Install nodes': {
          Type: 'Map',
          ItemProcessor: {
            States: {
              'Start install': { Type: 'Task', Next: 'Wait for install' },
              'Wait for install': { Type: 'Wait', Next: 'Check install' },
              'Check install': { Type: 'Task', Next: 'Install finished?' },
              'Install finished?': { Type: 'Choice' },
            },
          },
        },
      },
    };
    expect([...pollStates(definition)].sort()).toEqual([
      'Check install',
      'Install finished?',
      'Wait for install',
    ]);
  });
});

describe("the original's parameters, read from its source", () => {
  it('reads the Job default concurrency and the controller resync, and refuses a directory without them', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { readOriginalParameters } = await import('../../../scripts/bench/original');
    const dir = mkdtempSync(join(tmpdir(), 'original-'));
    expect(() => readOriginalParameters(dir)).toThrow(
      /options\.go is missing; expected a checkout of superedge/,
    );
    mkdirSync(join(dir, 'cmd/penetrator-job/app/options'), { recursive: true });
    mkdirSync(join(dir, 'pkg/penetrator/operator/controller'), { recursive: true });
    writeFileSync(
      join(dir, 'cmd/penetrator-job/app/options/options.go'),
      'o := &Options{\n\t\tNodes:       5,\n}',
    );
    writeFileSync(
      join(dir, 'pkg/penetrator/operator/controller/controller.go'),
      'informer.AddEventHandlerWithResyncPeriod(cache.ResourceEventHandlerFuncs{\n  AddFunc: c.enqueue,\n}, 60*time.Second)',
    );
    expect(readOriginalParameters(dir)).toEqual({ concurrency: 5, resyncSeconds: 60 });
  });
});
