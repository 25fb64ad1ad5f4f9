import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { LOCK_LEASE_NAME, NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { NODE_HASH_LABEL, TASK_LABEL } from '../../lambdas/domain/job-names';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { mostJoinsAtOnce, readJoinJournal, until, type JournalLine } from '../support/join-journal';
import type { RunTaskProcessConfig } from '../support/run-task-process';

/**
 * A local runner killed with SIGKILL mid-task (no handler runs: its lock stays, its Jobs run on),
 * and the same task started again. Two machines join at once and are labelled before the kill; two
 * join slowly and are mid-join when it comes. Seen from the machines (each one's join journal) and
 * the apiserver: no second install anywhere, the installed nodes skipped, every machine installed,
 * and the cluster freed by the short Lease. Real control plane, real sshd machines behind NAT, the
 * synthesized workflow. Its own subnet, proxy and task names.
 */

const PASSWORD = 'edge-root-pw';
const SUBNET = '172.21.47.0/24';
const PROXY = 'proxy-rk';
const TASK = 'rk-resume';
const QUICK = ['172.21.47.10', '172.21.47.11'];
const SLOW = ['172.21.47.12', '172.21.47.13'];
/** Long enough that the slow joins still run when the second run starts, at most a Lease later. */
const SLOW_JOIN_MS = 25_000;
/** The lock's Lease here (900 s by default): a killed run frees the cluster within it. */
const LEASE_SECONDS = 8;
const POLL_SECONDS = 0.5;

let env: TestEnvironment;
let workDir: string;
let credentialPath: string;
let kubeconfigPath: string;
let definitionPath: string;
let nodeTaskPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;

const objectsPath = () => join(workDir, 'objects');

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

function journal(ip: string): JournalLine[] {
  return readJoinJournal(machine(ip));
}

const internalIp = (node: V1Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

/** The addresses whose Node carries this task's label. */
async function labelled(): Promise<string[]> {
  const nodes = (await core.listNode()).items;
  return nodes
    .filter((n) => n.metadata?.labels?.[NODE_TASK_LABEL]?.startsWith(`${TASK}-`))
    .map((n) => internalIp(n) ?? '')
    .sort();
}

/** Starts the task in a process of its own (handlers from the sources, the short Lease). */
function startRunner() {
  const config: RunTaskProcessConfig = {
    definitionPath,
    nodeTaskPath,
    kubeconfigPath,
    credentialPath,
    objectsPath: objectsPath(),
    settings: {
      packageSource: { kind: 'hostPath', path: env.installPackagePath },
      lockLeaseSeconds: LEASE_SECONDS,
    },
    pollSeconds: POLL_SECONDS,
    retryIntervalSeconds: POLL_SECONDS,
  };
  const configPath = join(workDir, 'runner.json');
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = fileURLToPath(new URL('../support/run-task-process.ts', import.meta.url));
  // One process (node with tsx's loader, not the tsx CLI, which would fork): the kill reaches the runner.
  const child = spawn(process.execPath, ['--import', tsx, script, configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr };
}

/** The same task again, in this process, as an operator would start it after the crash. */
function runAgain(): Promise<WorkflowRunResult> {
  const handlers = createLocalHandlers({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath,
    objectsPath: objectsPath(),
    settings: {
      packageSource: { kind: 'hostPath', path: env.installPackagePath },
      lockLeaseSeconds: LEASE_SECONDS,
    },
  });
  return runWorkflowLocally({
    definition: JSON.parse(readFileSync(definitionPath, 'utf8')) as object,
    input: { nodeTask: JSON.parse(readFileSync(nodeTaskPath, 'utf8')) as unknown },
    handlers,
    objects: new FileObjectStore(objectsPath()),
    pollSeconds: POLL_SECONDS,
    retryIntervalSeconds: POLL_SECONDS,
  });
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [
          ...QUICK.map((ip) => ({ ip, password: PASSWORD })),
          ...SLOW.map((ip) => ({ ip, password: PASSWORD, joinDelayMs: SLOW_JOIN_MS })),
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-runner-killed-'));
  mkdirSync(objectsPath());
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  kubeconfigPath = join(workDir, 'kubeconfig.yaml');
  writeFileSync(kubeconfigPath, env.product.kubeconfigYaml, { mode: 0o600 });
  definitionPath = join(workDir, 'definition.json');
  writeFileSync(definitionPath, JSON.stringify(await loadSynthesizedDefinition()));
  nodeTaskPath = join(workDir, 'node-task.json');
  writeFileSync(
    nodeTaskPath,
    JSON.stringify({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      metadata: { name: TASK },
      spec: {
        sshCredential: 'login-secret',
        proxyNode: PROXY,
        nodeNamePrefix: 'rk',
        targetMachines: [...QUICK, ...SLOW],
      },
    }),
  );
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
});

afterAll(async () => {
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Starts the task, waits until the quick machines are installed and the slow ones mid-join, kills it. */
async function killMidTask(): Promise<number> {
  const runner = startRunner();
  try {
    await until('the quick machines are installed', async () => (await labelled()).join() === QUICK.join());
    await until('the slow joins run', () => SLOW.every((ip) => journal(ip).some((l) => l.event === 'start')));
  } catch (error) {
    runner.child.kill('SIGKILL');
    throw new Error(`the runner did not get there: ${runner.stderr.join('')}`, { cause: error });
  }
  runner.child.kill('SIGKILL');
  const killed = await runner.exited;
  expect(killed.signal).toBe('SIGKILL');
  return Date.now();
}

/**
 * The dead run's Lease stays until it expires: the new run is refused (naming the holder and the
 * expiry) and started again until it gets the cluster. Returns its result, the refusals and when
 * the run that got the cluster started.
 */
async function runAgainUntilLockTaken(): Promise<{
  result: WorkflowRunResult;
  busy: string[];
  startedAt: number;
}> {
  const busy: string[] = [];
  let again: WorkflowRunResult | undefined;
  let startedAt = 0;
  await until(
    'the second run gets the cluster',
    async () => {
      startedAt = Date.now();
      const result = await runAgain();
      if (result.error !== 'Penetrator.ClusterBusy') {
        again = result;
        return true;
      }
      busy.push(result.cause ?? '');
      await new Promise((resolve) => setTimeout(resolve, 500));
      return false;
    },
    (LEASE_SECONDS + 30) * 1000,
  );
  return { result: again!, busy, startedAt };
}

/** Per machine: the outcomes of its joins and how many ran at once. */
function joinsPerMachine(): Record<string, { outcomes: Array<string | undefined>; atOnce: number }> {
  return Object.fromEntries(
    [...QUICK, ...SLOW].map((ip) => {
      const lines = journal(ip);
      const outcomes = lines.filter((l) => l.event === 'end').map((l) => l.outcome);
      return [ip, { outcomes, atOnce: mostJoinsAtOnce(lines) }];
    }),
  );
}

/** How many install Jobs the task has for each of its nodes. */
async function jobsPerNode(): Promise<number[]> {
  const jobs = (
    await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: `${TASK_LABEL}=${TASK}` })
  ).items;
  const perNode = new Map<string, number>();
  for (const job of jobs) {
    const node = job.metadata?.labels?.[NODE_HASH_LABEL] ?? '';
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  return [...perNode.values()];
}

describe('a runner killed mid-task, and the task started again', () => {
  it('installs no machine twice, skips the installed ones, and gets the lock back within its Lease', async () => {
    const killedAt = await killMidTask();
    expect(Object.fromEntries(SLOW.map((ip) => [ip, journal(ip).filter((l) => l.event === 'end')]))).toEqual(
      Object.fromEntries(SLOW.map((ip) => [ip, []])),
    );

    const { result, busy, startedAt } = await runAgainUntilLockTaken();
    const lockBackAfterMs = startedAt - killedAt;

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]).toContain(`task ${TASK}`);
    const expires = Date.parse(/until (\S+) unless renewed/.exec(busy[0]!)?.[1] ?? '');
    // The Lease the dead run left runs out at most one Lease after its last renewal, itself before the kill.
    expect(expires).toBeLessThanOrEqual(killedAt + LEASE_SECONDS * 1000);
    expect(result.output).toMatchObject({
      summary: { installed: SLOW.length, skipped: QUICK.length, failed: 0 },
    });
    expect(await labelled()).toEqual([...QUICK, ...SLOW].sort());
    // One Job per machine: the second run followed the dead run's running Jobs instead of starting its own.
    const jobs = await jobsPerNode();
    expect(jobs).toEqual([1, 1, 1, 1]);
    const joined = { outcomes: ['joined'], atOnce: 1 };
    expect(joinsPerMachine()).toEqual(Object.fromEntries([...QUICK, ...SLOW].map((ip) => [ip, joined])));
    await expect(
      coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    console.info(
      `runner killed: cluster lock back ${(lockBackAfterMs / 1000).toFixed(1)} s after the kill ` +
        `(Lease ${LEASE_SECONDS} s, ${busy.length} runs refused as busy); ${jobs.length} Jobs for 4 machines, ` +
        `${QUICK.length} skipped, each machine joined once`,
    );
  });
});
