import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally } from '../../cli/local/run-workflow';
import { SingleClusterDirectory } from '../../lambdas/adapters/file-clusters';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import {
  LambdaNames,
  LOCK_LEASE_NAME,
  NODE_TASK_LABEL,
  TASK_NAMESPACE,
  type LambdaName,
  type WorkflowHandler,
} from '../../lambdas/domain/contracts';
import { ATTEMPT_LABEL, NODE_HASH_LABEL, TASK_LABEL } from '../../lambdas/domain/job-names';
import { composeLocal } from '../../lambdas/local-composition';
import { asLog, createLogger } from '../../lambdas/observability';
import type { Dependencies } from '../../lambdas/ports';
import { resolveSettings } from '../../lambdas/settings';
import { useCases } from '../../lambdas/use-cases';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { faultRate, startFaultProxy, type FaultProxy } from '../support/fault-proxy';

/**
 * Faults between the handlers and the apiserver, and handlers delivered twice, on the real cluster:
 * every handler's Kubernetes calls go through a loopback proxy that answers a quarter of them with
 * 503, 429 + Retry-After, a hung call, a reset connection, or a reset after the apiserver did the
 * work. The task must still install every machine, with exactly one Job per node and attempt, and
 * no machine joined twice (each machine's journal, sandbox/edge/join-cli.ts). Its own subnet,
 * proxy node and task names.
 */

const PASSWORD = 'edge-root-pw';
const SUBNET = '172.21.43.0/24';
const PROXY = 'proxy-faults';
const FAULTED = ['172.21.43.10', '172.21.43.11', '172.21.43.12'];
const TWICE = ['172.21.43.13', '172.21.43.14'];
const FAULT_RATE = 0.25;
/** The adapter's per-call deadline here (20 s in a Lambda), so hung calls cost seconds, not minutes. */
const CALL_TIMEOUT_MS = 2_000;

let env: TestEnvironment;
let definition: object;
let workDir: string;
let credentialPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;
let proxy: FaultProxy;

/** Where the runs' work lists and results live (the local runner's work bucket). */
function objectsPath(): string {
  return join(workDir, 'objects');
}

/** The product's kubeconfig, pointed at the fault proxy (its CA), the same token. */
function proxiedKubeconfig(): string {
  const doc = parseYaml(env.product.kubeconfigYaml) as {
    clusters: Array<{ cluster: Record<string, string> }>;
  };
  for (const entry of doc.clusters) {
    entry.cluster.server = proxy.url;
    entry.cluster['certificate-authority-data'] = Buffer.from(proxy.caPem).toString('base64');
  }
  return stringify(doc);
}

/** Every handler in-process, its Kubernetes calls through the proxy with the real adapter. */
function handlers(): Record<LambdaName, WorkflowHandler> {
  const kubeconfig = proxiedKubeconfig();
  const deps: Dependencies = {
    ...composeLocal({
      settings: resolveSettings({
        defaultCluster: 'local',
        packageSource: { kind: 'hostPath', path: env.installPackagePath },
      }),
      clusters: new SingleClusterDirectory(kubeconfig, 'local'),
      credentialPath,
      objectsPath: objectsPath(),
    }),
    kube: (cluster) =>
      Promise.resolve(kubeFromKubeconfig(cluster, kubeconfig, { timeoutMs: CALL_TIMEOUT_MS })),
    log: asLog(createLogger('SILENT')),
  };
  const all = {} as Record<LambdaName, WorkflowHandler>;
  for (const name of LambdaNames) all[name] = (payload) => useCases[name](deps, payload);
  return all;
}

function nodeTask(name: string, targetMachines: string[]): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode: PROXY, nodeNamePrefix: name, targetMachines },
  };
}

function run(document: unknown, taskHandlers: Record<LambdaName, WorkflowHandler>) {
  return runWorkflowLocally({
    definition,
    input: { nodeTask: document },
    handlers: taskHandlers,
    objects: new FileObjectStore(objectsPath()),
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
  });
}

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

/** The outcomes of the joins the machine ran (its journal's end lines). */
function joinsOn(ip: string): string[] {
  const file = machine(ip).joinJournal;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { event: string; outcome?: string })
    .filter((line) => line.event === 'end')
    .map((line) => line.outcome ?? '');
}

const internalIp = (node: V1Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

/** What the task left, read straight from the apiserver (not through the proxy). */
async function outcome(task: string, ips: string[]) {
  const jobs = (
    await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: `${TASK_LABEL}=${task}` })
  ).items;
  const perAttempt = new Map<string, number>();
  for (const job of jobs) {
    const key = `${job.metadata?.labels?.[NODE_HASH_LABEL]}/${job.metadata?.labels?.[ATTEMPT_LABEL]}`;
    perAttempt.set(key, (perAttempt.get(key) ?? 0) + 1);
  }
  const nodes = (await core.listNode()).items.filter((n) => ips.includes(internalIp(n) ?? ''));
  return {
    jobs: jobs.length,
    mostJobsPerAttempt: Math.max(0, ...perAttempt.values()),
    installed: nodes
      .filter((n) => n.metadata?.labels?.[NODE_TASK_LABEL]?.startsWith(`${task}-`))
      .map(internalIp)
      .sort(),
    joins: Object.fromEntries(ips.map((ip) => [ip, joinsOn(ip)])),
  };
}

async function expectLockFree(): Promise<void> {
  await expect(
    coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
  ).rejects.toMatchObject({ code: 404 });
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [...FAULTED, ...TWICE].map((ip) => ({ ip, password: PASSWORD })),
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-faults-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  definition = await loadSynthesizedDefinition();
  proxy = await startFaultProxy({
    upstream: env.cp.server,
    upstreamCaPem: env.cp.caPem,
    rate: 0,
    hangMs: CALL_TIMEOUT_MS * 3,
  });
});

afterAll(async () => {
  await proxy?.close();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('faults between the handlers and the apiserver', () => {
  it(`installs every machine through ${FAULT_RATE * 100} % faulty calls, one Job per node and attempt`, async () => {
    const faulty = await startFaultProxy({
      upstream: env.cp.server,
      upstreamCaPem: env.cp.caPem,
      rate: FAULT_RATE,
      hangMs: CALL_TIMEOUT_MS * 3,
    });
    const clean = proxy;
    proxy = faulty;
    try {
      const result = await run(nodeTask('faults', FAULTED), handlers());

      expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
      const left = await outcome('faults', FAULTED);
      console.info(
        `fault run: ${faulty.stats.requests} apiserver calls, ${(faultRate(faulty.stats) * 100).toFixed(1)} % faulted ` +
          `${JSON.stringify(faulty.stats.faults)}; ${left.jobs} Jobs for ${FAULTED.length} nodes`,
      );
      expect(faultRate(faulty.stats)).toBeGreaterThanOrEqual(0.2);
      expect(faulty.stats.requests).toBeGreaterThan(50);
      expect(left.installed).toEqual([...FAULTED].sort());
      expect(left.mostJobsPerAttempt).toBe(1);
      for (const ip of FAULTED) expect(left.joins[ip]).toEqual(['joined']);
      await expectLockFree();
    } finally {
      proxy = clean;
      await faulty.close();
    }
  });

  it('gets the same outcome from every task handler invoked twice with the same input', async () => {
    const once = handlers();
    const pairs: Array<{ name: LambdaName; first: unknown; second: unknown }> = [];
    type Settled = { ok: true; value: unknown } | { ok: false; error: string };
    const settle = (call: () => Promise<unknown>): Promise<Settled> =>
      call().then(
        (value): Settled => ({ ok: true, value }),
        (error: unknown): Settled => ({
          ok: false,
          error: error instanceof Error ? error.name : String(error),
        }),
      );
    const twice = {} as Record<LambdaName, WorkflowHandler>;
    for (const name of LambdaNames) {
      // At-least-once delivery: the same input handled twice in a row; the workflow goes on with the second.
      twice[name] = async (payload) => {
        const first = await settle(() => once[name](payload));
        const second = await settle(() => once[name](payload));
        pairs.push({ name, first, second });
        if (!second.ok) throw Object.assign(new Error(String(second.error)), { name: second.error });
        return second.value;
      };
    }

    const result = await run(nodeTask('twice', TWICE), twice);

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const left = await outcome('twice', TWICE);
    console.info(
      `duplicate run: ${pairs.length} handler calls delivered twice; ${left.jobs} Jobs for ${TWICE.length} nodes`,
    );
    expect(left.installed).toEqual([...TWICE].sort());
    expect(left.mostJobsPerAttempt).toBe(1);
    for (const ip of TWICE) expect(left.joins[ip]).toEqual(['joined']);
    for (const name of ['lock', 'prepare', 'startInstall', 'checkInstall', 'summarize', 'cleanup'] as const) {
      expect(
        pairs.some((p) => p.name === name),
        `${name} was called`,
      ).toBe(true);
    }
    // Plan draws the task's label value and node names at random until Prepare records them: its two
    // answers may differ in those, never in what it decided. The others report what they found, so
    // the second delivery of a write says it found the write done: the same state, other words.
    const sameState: Record<string, string> = {
      acquired: 'held',
      renewed: 'held',
      deleted: 'gone',
      absent: 'gone',
      released: 'not held',
      'not-held': 'not held',
    };
    const effect = (settled: unknown): unknown =>
      JSON.parse(
        JSON.stringify(settled, (_key, value: unknown) =>
          typeof value === 'string' ? (sameState[value] ?? value) : value,
        ),
      );
    // Check install is a poll: an install still running at the first delivery may have ended by the
    // second, never the other way round.
    const phase = (settled: unknown) => (settled as { value?: { phase?: string } }).value?.phase;
    const polledOn = pairs.filter((p) => p.name === 'checkInstall' && phase(p.first) === 'Running');
    const same = pairs.filter((p) => p.name !== 'plan' && !polledOn.includes(p));
    for (const p of pairs.filter((q) => q.name === 'checkInstall' && phase(q.first) !== 'Running')) {
      expect(phase(p.second)).not.toBe('Running');
    }
    for (const { name, first, second } of same) {
      expect({ name, outcome: effect(first) }).toEqual({ name, outcome: effect(second) });
    }
    await expectLockFree();
  });
});
