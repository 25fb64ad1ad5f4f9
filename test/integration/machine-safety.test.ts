import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeTask } from '../../cli/commands/run';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { SingleClusterDirectory } from '../../lambdas/adapters/file-clusters';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { LOCK_LEASE_NAME, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { credentialSecretName, TASK_LABEL } from '../../lambdas/domain/job-names';
import { composeLocal } from '../../lambdas/local-composition';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import { asLog, createLogger } from '../../lambdas/observability';
import type { Dependencies, Workflow } from '../../lambdas/ports';
import { resolveSettings } from '../../lambdas/settings';
import { executionEnded } from '../../lambdas/use-cases/execution-ended';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { mostJoinsAtOnce, readJoinJournal, until } from '../support/join-journal';

/**
 * One install per machine, seen from the machine: the stand-in join keeps a journal on each machine
 * (a line when a join starts, one when it ends, a TERM included), and every join here pauses a few
 * seconds, so the tests can stop an install while its join runs. Real control plane, real sshd
 * machines behind NAT, the synthesized workflow. Its own subnet, proxy and task names.
 */

const PASSWORD = 'edge-root-pw';
const SUBNET = '172.21.41.0/24';
const PROXY = 'proxy-ms';
const RETRIED = '172.21.41.10';
const INTERRUPTED = '172.21.41.11';
const CANCELLED = '172.21.41.12';
const JOIN_DELAY_MS = 6_000;

let env: TestEnvironment;
let definition: object;
let workDir: string;
let credentialPath: string;
let kubeconfigPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;
const runtimes = new LocalRuntimes();

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode: PROXY, ...spec },
  };
}

function run(document: unknown, options: { signal?: AbortSignal; executionName?: string } = {}) {
  const objectsPath = mkdtempSync(join(workDir, 'objects-'));
  const handlers = createLocalHandlers({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath,
    objectsPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  return runWorkflowLocally({
    definition,
    input: { nodeTask: document },
    handlers,
    objects: new FileObjectStore(objectsPath),
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
    ...options,
  });
}

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

const joinRunning = (m: EdgeMachine) => () => readJoinJournal(m).some((line) => line.event === 'start');
/**
 * The machine's side ends on its own clock: once the Pod and its SSH session are gone, the watcher
 * (polling the session every second) stops the join, which then journals its end.
 */
const joinEnded = (m: EdgeMachine) => () => readJoinJournal(m).some((line) => line.event === 'end');

async function podsOf(task: string): Promise<string[]> {
  const pods = await core.listNamespacedPod({
    namespace: TASK_NAMESPACE,
    labelSelector: `${TASK_LABEL}=${task}`,
  });
  return pods.items.map((p) => p.metadata!.name!);
}

async function jobsOf(task: string): Promise<string[]> {
  const jobs = await batch.listNamespacedJob({
    namespace: TASK_NAMESPACE,
    labelSelector: `${TASK_LABEL}=${task}`,
  });
  return jobs.items.map((j) => j.metadata!.name!);
}

/** Nothing of the task is left: no Job, no Pod, no credential Secret, no lock. */
async function expectNothingLeft(task: string): Promise<void> {
  expect(await jobsOf(task)).toEqual([]);
  expect(await podsOf(task)).toEqual([]);
  await expect(
    core.readNamespacedSecret({ name: credentialSecretName(task), namespace: TASK_NAMESPACE }),
  ).rejects.toMatchObject({ code: 404 });
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
        machines: [RETRIED, INTERRUPTED, CANCELLED].map((ip) => ({
          ip,
          password: PASSWORD,
          joinDelayMs: JOIN_DELAY_MS,
        })),
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-machine-safety-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  kubeconfigPath = join(workDir, 'kubeconfig.yaml');
  writeFileSync(kubeconfigPath, env.product.kubeconfigYaml, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  definition = await loadSynthesizedDefinition();
});

afterAll(async () => {
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('one install per machine, seen from the machine', () => {
  it('ends a stopped attempt’s join on the machine before the next attempt’s join starts', async () => {
    const task = 'ms-retry';
    const result = run(nodeTask(task, { nodeNamePrefix: 'r', targetMachines: [RETRIED], maxAttempts: 2 }));
    await until('the first join runs on the machine', joinRunning(machine(RETRIED)));
    // The attempt's Pod goes (an eviction, a drained proxy): the kubelet stops install.sh and its ssh.
    for (const name of await podsOf(task)) {
      await core.deleteNamespacedPod({ name, namespace: TASK_NAMESPACE });
    }

    const ended: WorkflowRunResult = await result;

    expect(ended.status, `${ended.error}: ${ended.cause}`).toBe('SUCCEEDED');
    const lines = readJoinJournal(machine(RETRIED));
    expect(lines.filter((l) => l.event === 'end').map((l) => l.outcome)).toEqual(['terminated', 'joined']);
    expect(mostJoinsAtOnce(lines)).toBe(1);
    expect(await jobsOf(task)).toHaveLength(2);
  });

  it('stops the running install when a local run is interrupted, before the lock goes', async () => {
    const task = 'ms-interrupt';
    const file = join(workDir, `${task}.yaml`);
    writeFileSync(
      file,
      JSON.stringify(nodeTask(task, { nodeNamePrefix: 'i', targetMachines: [INTERRUPTED] })),
    );
    const controller = new AbortController();
    const err: string[] = [];
    const code = runNodeTask(
      {
        file,
        kubeconfig: kubeconfigPath,
        credential: credentialPath,
        package: env.installPackagePath,
        poll: 0.5,
      },
      {
        openRuntime: (deps) => runtimes.open(deps, { fromSources: true }),
        stdout: () => undefined,
        stderr: (text) => err.push(text),
        signal: controller.signal,
      },
    );
    await until('the join runs on the machine', joinRunning(machine(INTERRUPTED)));
    controller.abort();

    expect(await code).toBe(1);

    expect(err.join('')).toContain('interrupted: releasing cluster local');
    await expectNothingLeft(task);
    await until('the machine ends the stopped join', joinEnded(machine(INTERRUPTED)), 30_000);
    const lines = readJoinJournal(machine(INTERRUPTED));
    expect(lines.filter((l) => l.event === 'end').map((l) => l.outcome)).toEqual(['terminated']);
    expect(mostJoinsAtOnce(lines)).toBe(1);
    expect(existsSync(join(machine(INTERRUPTED).stateDir, 'stand-in-join.json'))).toBe(false);
  });

  it('stops the running install when the execution is stopped (cancel, abort, time-out), before the lock goes', async () => {
    const task = 'ms-cancel';
    const executionName = 'local--ms-cancel--1';
    const document = nodeTask(task, { nodeNamePrefix: 'c', targetMachines: [CANCELLED] });
    const controller = new AbortController();
    const result = run(document, { signal: controller.signal, executionName });
    await until('the join runs on the machine', joinRunning(machine(CANCELLED)));
    controller.abort();
    expect((await result).status).toBe('ABORTED');
    // No state runs after an abort: the execution-ended rule's Lambda cleans up, as in AWS.
    const clusters = new SingleClusterDirectory(env.product.kubeconfigYaml, 'local');
    const deps: Dependencies = {
      ...composeLocal({
        settings: resolveSettings({ defaultCluster: 'local' }),
        clusters,
        credentialPath,
      }),
      log: asLog(createLogger('SILENT')),
    };
    const executionArn = `arn:aws:states:local:000000000000:execution:penetrator:${executionName}`;
    const workflow: Pick<Workflow, 'describe'> = {
      describe: (arn) =>
        Promise.resolve(
          arn === executionArn
            ? { arn, name: executionName, status: 'ABORTED', startDate: '', input: { nodeTask: document } }
            : undefined,
        ),
    };

    const ended = await executionEnded(
      { ...deps, workflow },
      { detail: { executionArn, status: 'ABORTED' } },
    );

    expect(ended).toMatchObject({ outcome: 'cleaned-up', credentialSecret: 'deleted', lock: 'released' });
    await expectNothingLeft(task);
    await until('the machine ends the stopped join', joinEnded(machine(CANCELLED)), 30_000);
    const lines = readJoinJournal(machine(CANCELLED));
    expect(lines.filter((l) => l.event === 'end').map((l) => l.outcome)).toEqual(['terminated']);
    expect(mostJoinsAtOnce(lines)).toBe(1);
  });
});
