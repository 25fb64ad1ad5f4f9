import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { sharedAssembly } from '../support/shared-assembly';
import { runWorkflowLocally } from '../../cli/local/run-workflow';
import { LOCK_LEASE_NAME, NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { nodeTask } from '../support/node-task';

/**
 * One set of handlers serves two clusters, as one deployment serves every registered cluster: a task
 * per cluster, both running at once, each holding its own cluster's lock.
 */

const PASSWORD = 'many-clusters-pw';
const CLUSTERS = ['east', 'west'] as const;

const envs = new Map<string, TestEnvironment>();
let definition: object;
let workDir: string;

function clients(env: TestEnvironment): { core: CoreV1Api; coordination: CoordinationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  return { core: kc.makeApiClient(CoreV1Api), coordination: kc.makeApiClient(CoordinationV1Api) };
}

async function lockHolder(env: TestEnvironment): Promise<string | undefined> {
  const lease = await clients(env)
    .coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE })
    .catch(() => undefined);
  return lease?.spec?.holderIdentity ?? undefined;
}

beforeAll(async () => {
  for (const cluster of CLUSTERS) {
    envs.set(
      cluster,
      await startTestEnvironment({
        sites: [
          { proxyNode: `${cluster}-proxy`, machines: [{ password: PASSWORD }, { password: PASSWORD }] },
        ],
      }),
    );
  }
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-clusters-'));
  writeFileSync(join(workDir, 'login-secret.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  definition = await runtimes.definition();
});

/** The deployed artifacts: each Lambda's bundle in warm Node.js 24 processes. */
const runtimes = new LocalRuntimes({}, sharedAssembly);

afterAll(async () => {
  await runtimes.dispose();
  for (const env of envs.values()) await env.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('one deployment, many clusters', () => {
  it('runs a task on each cluster at the same time, each under its own cluster lock', async () => {
    const east = envs.get('east')!;
    const west = envs.get('west')!;
    const { handlers, objects } = await runtimes.open({
      kubeconfigYaml: east.product.kubeconfigYaml,
      clusterName: 'east',
      moreClusters: { west: west.product.kubeconfigYaml },
      credentialPath: join(workDir, 'login-secret.yaml'),
      // Both environments serve the same package path layout; the east one is as good as any.
      settings: { packageSource: { kind: 'hostPath', path: east.installPackagePath } },
    });
    const run = (cluster: 'east' | 'west') => {
      const env = envs.get(cluster)!;
      return runWorkflowLocally({
        definition,
        handlers,
        objects,
        input: {
          cluster,
          nodeTask: nodeTask({
            name: `${cluster}-nodes`,
            spec: {
              nodeNamePrefix: cluster,
              targetMachines: env.network.sites[0]!.machines.map((m) => m.ip),
              proxyNode: `${cluster}-proxy`,
            },
          }),
        },
        pollSeconds: 0.5,
        retryIntervalSeconds: 0.5,
      });
    };

    // Watch both locks while the tasks run: at some moment both clusters must be held at once.
    let bothHeld = false;
    let watching = true;
    const watcher = (async () => {
      const deadline = Date.now() + 240_000;
      while (watching && Date.now() < deadline) {
        const [e, w] = await Promise.all([lockHolder(east), lockHolder(west)]);
        if (e?.startsWith('east-nodes/') && w?.startsWith('west-nodes/')) bothHeld = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const results = await Promise.all([run('east'), run('west')]);
    watching = false;
    await watcher;

    for (const result of results) expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(bothHeld).toBe(true);
    for (const cluster of CLUSTERS) {
      const env = envs.get(cluster)!;
      const nodes = (await clients(env).core.listNode()).items.filter(
        (n) => n.metadata?.name !== `${cluster}-proxy`,
      );
      // Each cluster got exactly its own machines, labelled by its own task.
      expect(nodes.map((n) => n.metadata?.name?.split('-')[0])).toEqual([cluster, cluster]);
      for (const node of nodes) {
        expect(node.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(
          new RegExp(`^${cluster}-nodes-[a-z0-9]{6}$`),
        );
      }
      expect(await lockHolder(env)).toBeUndefined();
    }
  });

  it('refuses a task naming a cluster that is not registered, listing the registered ones', async () => {
    const east = envs.get('east')!;
    const { handlers, objects } = await runtimes.open({
      kubeconfigYaml: east.product.kubeconfigYaml,
      clusterName: 'east',
      moreClusters: { west: envs.get('west')!.product.kubeconfigYaml },
      credentialPath: join(workDir, 'login-secret.yaml'),
    });

    const result = await runWorkflowLocally({
      definition,
      handlers,
      objects,
      input: {
        cluster: 'north',
        nodeTask: nodeTask({
          name: 'lost',
          spec: {
            nodeNamePrefix: 'lost',
            targetMachines: [east.network.sites[0]!.machines[0]!.ip],
            proxyNode: 'p',
          },
        }),
      },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Penetrator.ClusterNotFound');
    expect(result.cause).toContain('east, west');
  });
});
