import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { sharedAssembly } from '../support/shared-assembly';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { InstallEnv, LOCK_LEASE_NAME, NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import type { PackageSource } from '../../lambdas/domain/install-package';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { kubectl } from '../../sandbox/kubectl';
import { stateLambda } from '../../statemachine/state-names';

/**
 * The synthesized state machine definition, run locally, against a real control plane, a test
 * kubelet running the proxy node inside an edge site, and real sshd machines behind a one-way NAT.
 * The seed's documents are used unchanged: the site is built on their addresses and proxy node name.
 */

const PASSWORD = 'edge-root-pw';
const ADD_EXAMPLE = readFileSync(new URL('../../examples/add-nodes.yaml', import.meta.url), 'utf8');
const REINSTALL_EXAMPLE = readFileSync(
  new URL('../../examples/reinstall-nodes.yaml', import.meta.url),
  'utf8',
);
const PROXY = 'vm-2-117-centos';
const GOOD = ['172.21.3.194', '172.21.3.195'];
const REFUSING = '172.21.3.196';
const SPARE = '172.21.3.197';
/** No machine answers here: every attempt fails slowly and may be retried. */
const UNREACHABLE = '172.21.3.199';
const KUBEADM_ONLY = '172.21.3.198';
const MAX_ATTEMPTS = 2;

let env: TestEnvironment;
let definition: object;
let workDir: string;
let credentialPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode: PROXY, ...spec },
  };
}

/** The deployed artifacts: each Lambda's bundle in warm Node.js 24 processes. */
const runtimes = new LocalRuntimes({}, sharedAssembly);
const artifacts: string[] = [];

async function run(
  document: unknown,
  executionName?: string,
  packageSource: PackageSource = { kind: 'hostPath', path: env.installPackagePath },
): Promise<WorkflowRunResult> {
  const runtime = await runtimes.open({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath,
    settings: { packageSource },
  });
  if (artifacts.length === 0) console.info(`the workflow runs:\n${runtime.artifacts.join('\n')}`);
  artifacts.splice(0, artifacts.length, ...runtime.artifacts);
  try {
    return await runWorkflowLocally({
      definition,
      input: { nodeTask: document },
      handlers: runtime.handlers,
      objects: runtime.objects,
      executionName,
      pollSeconds: 0.5,
      retryIntervalSeconds: 0.5,
    });
  } finally {
    runtime.close();
  }
}

async function nodes(): Promise<V1Node[]> {
  return (await core.listNode()).items.filter((n) => n.metadata?.name !== PROXY);
}

function internalIp(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

async function expectNothingLeftBehind(task: string): Promise<void> {
  const selector = `penetrator.superedge.io/task=${task}`;
  const secrets = await core.listNamespacedSecret({ namespace: TASK_NAMESPACE, labelSelector: selector });
  expect(secrets.items.map((s) => s.metadata?.name)).toEqual([]);
  // The credential Secrets the task's Jobs mounted are gone (not merely unlabelled).
  const jobs = await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector });
  const mounted = new Set(
    jobs.items
      .flatMap((job) => job.spec?.template.spec?.volumes ?? [])
      .flatMap((v) => v.secret?.secretName ?? []),
  );
  expect(mounted.size).toBeGreaterThan(0);
  for (const name of mounted) {
    await expect(core.readNamespacedSecret({ name, namespace: TASK_NAMESPACE })).rejects.toMatchObject({
      code: 404,
    });
  }
  await expect(
    coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
  ).rejects.toMatchObject({
    code: 404,
  });
}

/** Deletes the task as a user does: its NodeTask (the task object), and with it the run's record. */
async function deleteTask(task: string): Promise<void> {
  const result = await kubectl(env.cp.kubeconfigPath, [
    'delete',
    'nt',
    task,
    '--cascade=foreground',
    '--timeout=60s',
  ]);
  if (result.code !== 0) throw new Error(`kubectl delete nt ${task}: ${result.stderr}`);
  const record = await core
    .readNamespacedConfigMap({ name: `penetrator-task-${task}`, namespace: TASK_NAMESPACE })
    .catch((error: unknown) => error);
  expect(record).toMatchObject({ code: 404 });
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: '172.21.3.0/24',
        proxyNode: PROXY,
        machines: [
          { ip: GOOD[0], password: PASSWORD },
          { ip: GOOD[1], password: PASSWORD },
          { ip: REFUSING, password: PASSWORD, refuseLogin: true },
          { ip: SPARE, password: PASSWORD },
          { ip: KUBEADM_ONLY, password: PASSWORD },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-workflow-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  definition = await runtimes.definition();
});

afterAll(async () => {
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the synthesized workflow against a real cluster and edge site', () => {
  it('adds the seed example machines through the proxy node and labels them', async () => {
    const result = await run(parseYaml(ADD_EXAMPLE));

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const joined = await nodes();
    expect(joined.map(internalIp).sort()).toEqual(GOOD);
    const labels = new Set(joined.map((n) => n.metadata?.labels?.[NODE_TASK_LABEL]));
    expect(labels.size).toBe(1);
    expect([...labels][0]).toMatch(/^nodes-[a-z0-9]{6}$/);
    for (const node of joined) expect(node.metadata?.name).toMatch(/^edge-[a-z0-9]{6}$/);
    expect(result.output).toMatchObject({ summary: { nodetaskStatus: 'ready', installed: 2, failed: 0 } });
    await expectNothingLeftBehind('nodes');
    // Every Task state ran its function's bundle from the assembly, on the deployed runtime.
    expect(artifacts).toEqual(
      Object.keys(stateLambda).map((state): unknown =>
        expect.stringMatching(
          new RegExp(`^${state} → \\w+ asset\\.[0-9a-f]{64}/index\\.mjs \\(nodejs24\\.x, Node\\.js v24\\.`),
        ),
      ),
    );
  });

  it('skips installed nodes when the same task runs again', async () => {
    const jobsBefore = (await batch.listNamespacedJob({ namespace: TASK_NAMESPACE })).items.length;

    const result = await run(parseYaml(ADD_EXAMPLE));

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ summary: { installed: 0, skipped: 2, failed: 0 } });
    expect((await batch.listNamespacedJob({ namespace: TASK_NAMESPACE })).items.length).toBe(jobsBefore);
    await expectNothingLeftBehind('nodes');
  });

  it('reinstalls a machine under a new name: the old Node is gone, the new one labelled', async () => {
    const before = await nodes();
    const old = before.find((n) => internalIp(n) === GOOD[0])!;
    await deleteTask('nodes');

    const result = await run(parseYaml(REINSTALL_EXAMPLE));

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const after = await nodes();
    const names = after.map((n) => n.metadata?.name);
    expect(names).not.toContain(old.metadata?.name);
    const renamed = after.find((n) => n.metadata?.name === 'edge-1mokvl')!;
    expect(internalIp(renamed)).toBe(GOOD[0]);
    expect(renamed.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^nodes-[a-z0-9]{6}$/);
    expect(renamed.metadata?.labels?.[NODE_TASK_LABEL]).not.toBe(old.metadata?.labels?.[NODE_TASK_LABEL]);
    await expectNothingLeftBehind('nodes');
  });

  it('fails a machine that refuses the credential at once (no retry can help), installs the others, and names it', async () => {
    const result = await run(
      nodeTask('mixed', {
        nodeNamePrefix: 'mix',
        targetMachines: [REFUSING, SPARE],
        maxAttempts: MAX_ATTEMPTS,
      }),
    );

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Penetrator.NodesFailed');
    expect(result.cause).toContain(REFUSING);
    expect(result.cause).toMatch(/permission denied/i);
    const spare = (await nodes()).find((n) => internalIp(n) === SPARE);
    expect(spare?.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^mixed-[a-z0-9]{6}$/);
    expect((await nodes()).some((n) => internalIp(n) === REFUSING)).toBe(false);
    const jobs = await batch.listNamespacedJob({
      namespace: TASK_NAMESPACE,
      labelSelector: 'penetrator.superedge.io/task=mixed',
    });
    const refusingJobs = jobs.items.filter((j) =>
      JSON.stringify(j.metadata?.annotations ?? {}).includes(REFUSING),
    );
    // A refused login is final: one attempt, not maxAttempts.
    expect(refusingJobs).toHaveLength(1);
    const status = await core.readNamespacedConfigMap({
      name: 'penetrator-task-mixed',
      namespace: TASK_NAMESPACE,
    });
    expect(JSON.stringify(status.data)).toContain(REFUSING);
    await expectNothingLeftBehind('mixed');
  });

  it('refuses a second task on the same cluster while one runs, naming the running task', async () => {
    const slow = run(
      nodeTask('slow', { nodeNamePrefix: 'slow', targetMachines: [UNREACHABLE], maxAttempts: 3 }),
      'slow-execution',
    );
    // Wait (bounded) until the first task holds the lock.
    await vi.waitFor(
      async () => {
        const lease = await coordination
          .readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE })
          .catch(() => undefined);
        if (!lease?.spec?.holderIdentity?.startsWith('slow/'))
          throw new Error('the first task never took the cluster lock');
      },
      { timeout: 60_000, interval: 200 },
    );

    const second = await run(nodeTask('second', { nodeNamePrefix: 'second', targetMachines: [SPARE] }));

    expect(second.status).toBe('FAILED');
    expect(second.error).toBe('Penetrator.ClusterBusy');
    expect(second.cause).toContain('slow');
    const first = await slow;
    expect(first.status).toBe('FAILED');
    await expectNothingLeftBehind('slow');
  });

  it('joins with the kubeadm profile on a deployment without a package, copying nothing', async () => {
    const result = await run(
      nodeTask('kubeadm-nodes', {
        installer: 'kubeadm',
        nodeNamePrefix: 'kube',
        targetMachines: [KUBEADM_ONLY],
      }),
      undefined,
      { kind: 'none' },
    );

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const joined = (await nodes()).find((n) => internalIp(n) === KUBEADM_ONLY);
    expect(joined?.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^kubeadm-nodes-[a-z0-9]{6}$/);
    const jobs = await batch.listNamespacedJob({
      namespace: TASK_NAMESPACE,
      labelSelector: 'penetrator.superedge.io/task=kubeadm-nodes',
    });
    expect(jobs.items.length).toBeGreaterThan(0);
    for (const job of jobs.items) {
      const pod = job.spec!.template.spec!;
      expect(pod.volumes?.map((v) => v.name)).not.toContain('package');
      expect(pod.containers[0]!.env?.map((e) => e.name)).not.toContain(InstallEnv.packagePath);
    }
    await expectNothingLeftBehind('kubeadm-nodes');
  });
});
