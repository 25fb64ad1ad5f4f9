/**
 * `kubectl apply -f` as a door: a NodeTask created directly in the cluster with the real kubectl is
 * picked up by the sync (the use-case the scheduled Lambda and `penetrator sync` run), started
 * through the API's start path and runs the deployed definition locally until its machines are
 * installed; an invalid one is told why on its status and never started; `kubectl delete nt` while
 * its run goes on stops the run and leaves nothing of the task behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntimes, type LocalRuntime } from '../../cli/local/local-runtime';
import { LocalWorkflow } from '../../cli/local/local-workflow';
import type { WorkflowRunResult } from '../../cli/local/run-workflow';
import { lockHolderTask } from '../../lambdas/api/task-view';
import { LOCK_LEASE_NAME, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import type { LeaseObject } from '../../lambdas/domain/kube-types';
import { SYNC_FINALIZER } from '../../lambdas/domain/node-task-sync';
import { localDependencies } from '../../lambdas/local-handlers';
import { asLog, createLogger } from '../../lambdas/observability';
import { syncNodeTasks, type SyncDependencies } from '../../lambdas/use-cases/sync-node-tasks';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { kubectl } from '../../sandbox/kubectl';
import { sharedAssembly } from '../support/shared-assembly';

const PASSWORD = 'sync-root-pw';
/** Addresses and names of this file only, so it runs beside the other integration files. */
const SUBNET = '172.21.75.0/24';
const PROXY = 'sync-proxy';
const FIRST = '172.21.75.10';
const SECOND = '172.21.75.11';
/** Its join pauses long enough for the test to delete the NodeTask while the run goes on. */
const SLOW = '172.21.75.12';
const CLUSTER = 'local';

/** The seed example's batch-add form (examples/add-nodes.yaml), on this file's machines. */
const ADD_NODES = `apiVersion: nodetask.apps.superedge.io/v1beta1
kind: NodeTask
metadata:
  name: sync-nodes
spec:
  nodeNamePrefix: "edge"
  targetMachines:
    - ${FIRST}
    - ${SECOND}
  sshCredential: login-secret
  proxyNode: ${PROXY}
`;

const INVALID = `apiVersion: nodetask.apps.superedge.io/v1beta1
kind: NodeTask
metadata:
  name: sync-invalid
spec:
  nodeNamePrefix: "edge"
  targetMachines:
    - 172.21.75.300
  sshCredential: login-secret
  proxyNode: ${PROXY}
`;

const SLOW_TASK = `apiVersion: nodetask.apps.superedge.io/v1beta1
kind: NodeTask
metadata:
  name: sync-slow
spec:
  nodeNamePrefix: "slow"
  targetMachines:
    - ${SLOW}
  sshCredential: login-secret
  proxyNode: ${PROXY}
`;

let env: TestEnvironment;
let workDir: string;
let runtime: LocalRuntime;
let workflow: LocalWorkflow;
let deps: SyncDependencies;
const runtimes = new LocalRuntimes({}, sharedAssembly);
const ended = new Map<string, WorkflowRunResult>();

async function k(...args: string[]): Promise<string> {
  const result = await kubectl(env.cp.kubeconfigPath, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function apply(name: string, text: string): Promise<void> {
  const path = join(workDir, `${name}.yaml`);
  writeFileSync(path, text);
  await k('apply', '-f', path);
}

interface NodeTaskJson {
  metadata: { finalizers?: string[] };
  status?: {
    execution?: string;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

async function nodeTaskJson(name: string): Promise<NodeTaskJson> {
  return JSON.parse(await k('get', 'nt', name, '-o', 'json')) as NodeTaskJson;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds: number): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function runOf(name: string): Promise<WorkflowRunResult> {
  const [execution] = await workflow.list({ namePrefix: `${CLUSTER}--${name}--` });
  if (execution === undefined) throw new Error(`no execution of ${name}`);
  return until(`the run of ${name} ends`, () => Promise.resolve(ended.get(execution.name)), 300);
}

const names = (text: string) => text.split('\n').filter((l) => l !== '');

async function leftOf(task: string): Promise<string[]> {
  const selector = `penetrator.superedge.io/task=${task}`;
  const kinds = ['jobs', 'pods', 'secrets', 'configmaps'];
  const left = await Promise.all(
    kinds.map((kind) => k('get', kind, '-n', TASK_NAMESPACE, '-l', selector, '-o', 'name')),
  );
  return left.flatMap(names);
}

async function bootstrapTokens(): Promise<string[]> {
  return names(
    await k(
      'get',
      'secrets',
      '-n',
      'kube-system',
      '--field-selector',
      'type=bootstrap.kubernetes.io/token',
      '-o',
      'name',
    ),
  );
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [
          { ip: FIRST, password: PASSWORD },
          { ip: SECOND, password: PASSWORD },
          { ip: SLOW, password: PASSWORD, joinDelayMs: 600_000 },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-sync-'));
  const credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const local = {
    kubeconfigYaml: env.product.kubeconfigYaml,
    clusterName: CLUSTER,
    credentialPath,
    settings: { packageSource: { kind: 'hostPath' as const, path: env.installPackagePath } },
  };
  runtime = await runtimes.open(local);
  workflow = new LocalWorkflow(runtime, {
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
    onEnd: (execution, result) => Promise.resolve(void ended.set(execution.name, result)),
  });
  deps = { ...localDependencies(local), log: asLog(createLogger('SILENT')), workflow };
}, 300_000);

afterAll(async () => {
  await workflow?.stopAll();
  runtime?.close();
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('a NodeTask applied with kubectl is started by the sync', () => {
  it('starts the seed example form through the start path, marks it, installs its machines, and starts it once', async () => {
    await apply('sync-nodes', ADD_NODES);
    const first = await syncNodeTasks(deps);
    expect(first.clusters).toEqual([
      expect.objectContaining({
        cluster: CLUSTER,
        started: { 'sync-nodes': expect.stringMatching(/^local--sync-nodes--[a-z0-9]{6}$/) as unknown },
      }),
    ]);
    expect((await nodeTaskJson('sync-nodes')).metadata.finalizers).toEqual([SYNC_FINALIZER]);
    // Run again while the task runs: nothing new is started.
    const again = await syncNodeTasks(deps);
    expect(again.clusters[0]!.started).toEqual({});

    const result = await runOf('sync-nodes');
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(await k('get', 'nt', 'sync-nodes', '-o', 'custom-columns=STATUS:status.nodetaskStatus')).toBe(
      'STATUS\nready\n',
    );
    const nodes = await k('get', 'nodes', '-o', 'wide');
    expect(nodes).toContain(FIRST);
    expect(nodes).toContain(SECOND);
    // Ended: the sync leaves it alone, and starts nothing.
    const after = await syncNodeTasks(deps);
    expect(after.clusters[0]!.started).toEqual({});
    expect(await workflow.list({ namePrefix: `${CLUSTER}--sync-nodes--` })).toHaveLength(1);
    // Printed as the demo prints it.
    expect(await k('get', 'nt')).toMatch(/sync-nodes\s+ready\s+2\s+0\s+2/);
  }, 400_000);

  it('tells an invalid NodeTask why on its status, naming the field path, and never starts it', async () => {
    await apply('sync-invalid', INVALID);
    const result = await syncNodeTasks(deps);
    expect(result.clusters[0]!.refused).toEqual({ 'sync-invalid': 'InvalidSpec' });
    const nodeTask = await nodeTaskJson('sync-invalid');
    expect(nodeTask.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: expect.stringContaining('spec.targetMachines[0]') as unknown,
      }),
    ]);
    expect(nodeTask.metadata.finalizers ?? []).toEqual([]);
    expect(await workflow.list({ namePrefix: `${CLUSTER}--sync-invalid--` })).toEqual([]);
    await k('delete', 'nt', 'sync-invalid');
  }, 120_000);

  it('stops the run of a NodeTask deleted while it installs, and leaves nothing of the task behind', async () => {
    const tokensBefore = await bootstrapTokens();
    await apply('sync-slow', SLOW_TASK);
    expect(Object.keys((await syncNodeTasks(deps)).clusters[0]!.started)).toEqual(['sync-slow']);
    // The install Job runs (its join pauses on the machine): the task is mid-way.
    await until(
      'the install Job of sync-slow',
      async () => ((await leftOf('sync-slow')).some((n) => n.startsWith('pod/')) ? true : undefined),
      180,
    );

    await k('delete', 'nt', 'sync-slow', '--wait=false');
    // The finalizer holds the NodeTask until the sync has stopped the run and cleaned up.
    expect(await k('get', 'nt', 'sync-slow', '-o', 'name')).toBe(
      'nodetask.nodetask.apps.superedge.io/sync-slow\n',
    );
    const released = await syncNodeTasks(deps);
    expect(released.clusters[0]!.released).toEqual(['sync-slow']);
    expect((await runOf('sync-slow')).status).toBe('ABORTED');

    await until(
      'the NodeTask and everything it owned gone',
      async () => {
        const all = await k('get', 'nt', '-o', 'name');
        return !all.includes('sync-slow') && (await leftOf('sync-slow')).length === 0 ? true : undefined;
      },
      120,
    );
    const lease = JSON.parse(
      (
        await kubectl(env.cp.kubeconfigPath, [
          'get',
          'lease',
          LOCK_LEASE_NAME,
          '-n',
          TASK_NAMESPACE,
          '-o',
          'json',
        ])
      ).stdout || 'null',
    ) as LeaseObject | null;
    expect(lockHolderTask(lease ?? undefined, new Date())).toBeUndefined();
    expect(await bootstrapTokens()).toEqual(tokensBefore);
    // Its machine never became a node.
    expect(await k('get', 'nodes', '-o', 'wide')).not.toContain(SLOW);
    // Gone, it is not started again.
    expect((await syncNodeTasks(deps)).clusters[0]!.started).toEqual({});
  }, 400_000);
});
