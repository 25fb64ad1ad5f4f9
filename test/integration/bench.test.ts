import { describe, expect, it } from 'vitest';
import { report, runClusterBench } from '../../scripts/bench/cluster';
import { FIGURE_NAMES } from '../../scripts/bench/figures';

/**
 * The benchmark on the real cluster, at the smallest size: it installs every node through the real
 * Jobs and the test kubelet's simulated installs, and prints every figure with a number. Nothing
 * here judges the figures themselves (they depend on the machine).
 */
describe('npm run bench', () => {
  it('installs every node and prints every figure as name=number', async () => {
    const result = await runClusterBench({
      nodes: 3,
      concurrency: 2,
      installSeconds: 1,
      failureRate: 0,
      proxies: 2,
      pollSeconds: 5,
      lambdaProcesses: 2,
      coldLoadRuns: 1,
      progress: () => undefined,
    });

    expect(result).toMatchObject({ status: 'SUCCEEDED', installed: 3, failed: 0 });
    const lines = report(result).split('\n');
    for (const name of FIGURE_NAMES) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${name}=-?\\d+(\\.\\d+)?$`)));
    }
    // The apiserver counted the product's requests, the polls among them.
    expect(result.counts.apiserverRequests).toBeGreaterThan(result.counts.apiserverPollRequests);
    expect(result.counts.apiserverPollRequests).toBeGreaterThan(0);
    expect(result.counts.pollTransitions).toBeGreaterThan(0);
  });
});
