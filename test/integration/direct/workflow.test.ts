import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import { utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntimes } from '../../../cli/local/local-runtime';
import { sharedAssembly } from '../../support/shared-assembly';
import { runWorkflowLocally, type WorkflowRunResult } from '../../../cli/local/run-workflow';
import { FileCredentials } from '../../../lambdas/adapters/file-credentials';
import { SingleClusterDirectory } from '../../../lambdas/adapters/file-clusters';
import { loadInstallerScripts } from '../../../lambdas/adapters/install-script';
import { cachedKubeProvider } from '../../../lambdas/adapters/kube-cache';
import { connectSsh } from '../../../lambdas/adapters/ssh';
import {
  LOCK_LEASE_NAME,
  NODE_TASK_LABEL,
  TASK_NAMESPACE,
  type AttemptRef,
  type PlanOutput,
  type TaskRef,
} from '../../../lambdas/domain/contracts';
import {
  BUDGET_ANNOTATION,
  OUTCOME_ANNOTATION,
  REASON_ANNOTATION,
  directRecordName,
} from '../../../lambdas/direct/record';
import { ErrorNames } from '../../../lambdas/errors';
import type { Dependencies } from '../../../lambdas/ports';
import { resolveSettings } from '../../../lambdas/settings';
import { startInstall } from '../../../lambdas/use-cases/start-install';
import { plannedLists } from '../../support/work-objects';
import { startTestEnvironment, type TestEnvironment } from '../../../sandbox/env';
import type { EdgeMachine } from '../../../sandbox/network';

/**
 * Direct mode through the synthesized workflow, run locally: the runner (this process, "the cloud")
 * reaches the machines of a site made reachable from the cloud and joins them over SSH itself — no
 * proxy node, no Job. A second, one-way site shows what an unreachable machine looks like, and the
 * proxy node of the first site installs a refusing machine the proxy way, so both modes' reasons can
 * be compared word for word.
 */

const PASSWORD = 'edge-root-pw';
const clientKey = utils.generateKeyPairSync('ed25519');

let env: TestEnvironment;
let definition: object;
let workDir: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;

/** Site 0 (reachable): two password machines, one key machine, a refusing one, an armv7l one, a spare. */
const machine = (site: number, index: number): EdgeMachine => env.network.sites[site]!.machines[index]!;
const GOOD = [0, 1];
const KEYED = 2;
const REFUSING = 3;
const ARMV7 = 4;
const SPARE = 5;
const TWICE = 6;

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', mode: 'direct', ...spec },
  };
}

/** The deployed artifacts: each Lambda's bundle (ssh2 in start-install's) in warm Node.js 24 processes. */
const runtimes = new LocalRuntimes({}, sharedAssembly);

function openRuntime(): ReturnType<LocalRuntimes['open']> {
  return runtimes.open({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath: join(workDir, 'credentials'),
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
}

async function run(document: unknown): Promise<WorkflowRunResult> {
  const runtime = await openRuntime();
  try {
    return await runWorkflowLocally({
      definition,
      input: { nodeTask: document },
      handlers: runtime.handlers,
      objects: runtime.objects,
      pollSeconds: 0.5,
      retryIntervalSeconds: 0.5,
    });
  } finally {
    runtime.close();
  }
}

async function labelAt(ip: string): Promise<string | undefined> {
  return (await nodeAt(ip))?.metadata?.labels?.[NODE_TASK_LABEL];
}

/** SSH logins the machine's sshd accepted so far (LogLevel VERBOSE logs each). */
function logins(target: EdgeMachine): number {
  return readFileSync(join(target.workDir, 'sshd.log'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('Accepted password for root')).length;
}

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The Lambda's dependencies, with a given time left in the invocation (as Lambda's context tells). */
function lambdaLikeDependencies(remainingMs: number): Dependencies {
  const clusters = new SingleClusterDirectory(env.product.kubeconfigYaml, 'local');
  return {
    settings: resolveSettings({
      defaultCluster: 'local',
      packageSource: { kind: 'hostPath', path: env.installPackagePath },
    }),
    clusters,
    credentials: new FileCredentials(join(workDir, 'credentials')),
    kube: cachedKubeProvider(clusters),
    installScript: () => loadInstallerScripts(),
    ssh: connectSsh,
    log: quiet,
    remainingTimeMs: () => remainingMs,
  };
}

async function nodeAt(ip: string): Promise<V1Node | undefined> {
  return (await core.listNode()).items.find((n) =>
    n.status?.addresses?.some((a) => a.type === 'InternalIP' && a.address === ip),
  );
}

async function records(task: string): Promise<V1Lease[]> {
  const leases = await coordination.listNamespacedLease({
    namespace: TASK_NAMESPACE,
    labelSelector: `penetrator.superedge.io/task=${task}`,
  });
  return leases.items;
}

async function expectNoJobsAndNothingLeftBehind(task: string): Promise<void> {
  const selector = `penetrator.superedge.io/task=${task}`;
  expect(
    (await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector })).items,
  ).toEqual([]);
  const secrets = await core.listNamespacedSecret({ namespace: TASK_NAMESPACE, labelSelector: selector });
  expect(secrets.items.map((s) => s.metadata?.name)).toEqual([]);
  await expect(
    coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
  ).rejects.toMatchObject({ code: 404 });
}

/**
 * The reason the failed run's message gives for one address (the Fail state's cause lists
 * `<name> (<ip>): <reason>` per node), without proxy mode's "(Job …)" suffix.
 */
function reasonFor(result: WorkflowRunResult, ip: string): string {
  const cause = result.cause ?? '';
  const marker = `(${ip}): `;
  const start = cause.indexOf(marker);
  if (start < 0) throw new Error(`no reason for ${ip} in: ${cause}`);
  const rest = cause.slice(start + marker.length);
  const next = rest.search(/; [a-z0-9.-]+ \(\d+\.\d+\.\d+\.\d+\): /);
  return (next < 0 ? rest : rest.slice(0, next)).replace(/ \(Job [^)]*\)$/, '');
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        reachableFromCloud: true,
        machines: [
          { password: PASSWORD },
          { password: PASSWORD, arch: 'aarch64' },
          { authorizedKeys: [clientKey.public] },
          { password: PASSWORD, refuseLogin: true },
          { password: PASSWORD, arch: 'armv7l' },
          { password: PASSWORD },
          { password: PASSWORD },
        ],
      },
      { machines: [{ password: PASSWORD }] },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-direct-'));
  mkdirSync(join(workDir, 'credentials'), { mode: 0o700 });
  writeFileSync(join(workDir, 'credentials', 'login-secret.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(workDir, 'credentials', 'login-key.pem'), clientKey.private, { mode: 0o600 });
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

describe('direct mode through the synthesized workflow', () => {
  it('joins reachable machines from the runner itself, checks host keys, and labels the Nodes', async () => {
    const targets = GOOD.map((m) => machine(0, m));
    const result = await run(
      nodeTask('direct', {
        nodeNamePrefix: 'direct',
        targetMachines: targets.map((m) => m.ip),
        knownHosts: targets.map((m) => m.knownHostsLine).join('\n'),
      }),
    );

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ summary: { nodetaskStatus: 'ready', installed: 2, failed: 0 } });
    for (const target of targets) {
      expect((await nodeAt(target.ip))?.metadata?.name).toMatch(/^direct-[a-z0-9]{6}$/);
      expect(await labelAt(target.ip)).toMatch(/^direct-[a-z0-9]{6}$/);
    }
    // The aarch64 machine joined with its own architecture's name in the Node.
    expect((await nodeAt(targets[1]!.ip))?.metadata?.labels?.['kubernetes.io/arch']).toBe('arm64');
    const recorded = await records('direct');
    expect(recorded).toHaveLength(2);
    for (const lease of recorded) expect(lease.metadata?.annotations?.[OUTCOME_ANNOTATION]).toBe('succeeded');
    // Nothing was dropped: the runner connected into the site, which only a reachable site allows.
    expect(await env.network.sites[0]!.droppedInbound()).toBe(0);
    await expectNoJobsAndNothingLeftBehind('direct');
  });

  it('logs in with a key', async () => {
    const keyed = machine(0, KEYED);
    const result = await run(
      nodeTask('keyed', {
        nodeNamePrefix: 'keyed',
        sshCredential: 'login-key',
        targetMachines: [keyed.ip],
        knownHosts: keyed.knownHostsLine,
      }),
    );
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect((await nodeAt(keyed.ip))?.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^keyed-[a-z0-9]{6}$/);
  });

  it('fails each bad machine at its first attempt when no retry can help, with install.sh’s reason, and installs the others', async () => {
    const refusing = machine(0, REFUSING);
    const armv7 = machine(0, ARMV7);
    const spare = machine(0, SPARE);
    const result = await run(
      nodeTask('mixed', {
        nodeNamePrefix: 'mixed',
        targetMachines: [refusing.ip, armv7.ip, spare.ip],
        maxAttempts: 2,
      }),
    );

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Penetrator.NodesFailed');
    expect(reasonFor(result, refusing.ip)).toMatch(
      new RegExp(
        `attempt 1: exit code 3: arch: ssh: permission denied for root@${refusing.ip.replaceAll('.', '\\.')}$`,
      ),
    );
    expect(reasonFor(result, armv7.ip)).toMatch(
      /attempt 1: exit code 4: arch: unsupported architecture armv7l$/,
    );
    expect((await nodeAt(spare.ip))?.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^mixed-[a-z0-9]{6}$/);
    expect(await nodeAt(refusing.ip)).toBeUndefined();
    const failed = (await records('mixed')).filter(
      (l) => l.metadata?.annotations?.[OUTCOME_ANNOTATION] === 'failed',
    );
    // A refused credential and an unsupported architecture are final: no second attempt.
    expect(failed.map((l) => l.metadata?.labels?.['penetrator.superedge.io/attempt'])).toEqual(['1', '1']);
    expect(failed.map((l) => l.metadata?.annotations?.[REASON_ANNOTATION]).join('\n')).not.toContain(
      PASSWORD,
    );
    await expectNoJobsAndNothingLeftBehind('mixed');

    // The same machine through the proxy node: the reason reads the same, word for word.
    const proxied = await run({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      metadata: { name: 'proxied' },
      spec: {
        sshCredential: 'login-secret',
        proxyNode: env.proxyNodes[0],
        nodeNamePrefix: 'proxied',
        targetMachines: [refusing.ip],
        maxAttempts: 2,
      },
    });
    expect(proxied.status).toBe('FAILED');
    // Word for word but for the node's name, which each task chose.
    const withoutName = (reason: string) => reason.replace(/^node \S+ /, '');
    expect(withoutName(reasonFor(proxied, refusing.ip))).toBe(withoutName(reasonFor(result, refusing.ip)));
  });

  it('refuses a machine whose host key does not match, before logging in', async () => {
    const keyed = machine(0, KEYED);
    const other = machine(0, SPARE);
    const result = await run(
      nodeTask('mismatch', {
        nodeNamePrefix: 'mismatch',
        sshCredential: 'login-key',
        targetMachines: [keyed.ip],
        // Another machine's key under this machine's address.
        knownHosts: other.knownHostsLine.replace(other.ip, keyed.ip),
        maxAttempts: 1,
      }),
    );
    expect(result.status).toBe('FAILED');
    expect(reasonFor(result, keyed.ip)).toMatch(
      new RegExp(
        `exit code 3: arch: ssh: the host key of ${keyed.ip.replaceAll('.', '\\.')} does not match known_hosts$`,
      ),
    );
  });

  it('cannot reach a machine of a one-way site, and says so', async () => {
    const hidden = machine(1, 0);
    const dropped = await env.network.sites[1]!.droppedInbound();
    const result = await run(
      nodeTask('hidden', { nodeNamePrefix: 'hidden', targetMachines: [hidden.ip], maxAttempts: 1 }),
    );
    expect(result.status).toBe('FAILED');
    expect(reasonFor(result, hidden.ip)).toMatch(
      new RegExp(
        `exit code 3: arch: ssh: cannot reach ${hidden.ip.replaceAll('.', '\\.')}:22 \\(timed out\\)$`,
      ),
    );
    expect(await env.network.sites[1]!.droppedInbound()).toBeGreaterThan(dropped);
  });

  it('follows an install under way instead of starting a second one, and stays within the Lambda’s time', async () => {
    const target = machine(0, TWICE);
    // Closed with the others after the file.
    const runtime = await openRuntime();
    const local = runtime.handlers;
    const call = async <O>(name: keyof typeof local, payload: unknown): Promise<O> =>
      (await local[name](JSON.parse(JSON.stringify(payload)))) as O;
    const planned = await call<PlanOutput>('plan', {
      input: { nodeTask: nodeTask('twice', { nodeNamePrefix: 'twice', targetMachines: [target.ip] }) },
      executionId: 'arn:aws:states:local:000000000000:execution:penetrator:twice-1',
    });
    await call('lock', { action: 'acquire', task: planned.task });
    const task = await call<TaskRef>('prepare', { task: planned.task, work: planned.work });
    const [node] = (await plannedLists(runtime.objects, planned)).nodes;
    const step = JSON.parse(JSON.stringify({ task, node })) as unknown;
    const before = logins(target);

    // 45 s left in the invocation: less than an install may need, so it does not start.
    const short = await startInstall(lambdaLikeDependencies(45_000), step).catch((e: unknown) => e);
    expect(short).toMatchObject({ name: ErrorNames.InstallFailed });
    expect((short as Error).message).toMatch(/raise the Start install Lambda's timeout/);
    expect(logins(target)).toBe(before);

    // Two calls at once (a retried invocation): one installs, the other follows it.
    const deps = lambdaLikeDependencies(200_000);
    const [first, second] = await Promise.all([startInstall(deps, step), startInstall(deps, step)]);
    const record = directRecordName('twice', node!.name);
    expect(first).toEqual({ job: record, number: 1, waitSeconds: expect.any(Number) as unknown });
    expect(second).toEqual(first);
    expect(logins(target) - before).toBe(1);
    const lease = await coordination.readNamespacedLease({ name: record, namespace: TASK_NAMESPACE });
    // The attempt's budget is the invocation's time less the margin, not the task's 900 s.
    expect(lease.metadata?.annotations?.[BUDGET_ANNOTATION]).toBe('170');
    expect(lease.spec?.leaseDurationSeconds).toBe(200);

    // Called again once it finished: followed, not repeated.
    expect(await startInstall(deps, step)).toEqual(first);
    expect(logins(target) - before).toBe(1);
    const attempt: AttemptRef = first;
    expect(await call('checkInstall', { ...(step as object), attempt })).toEqual({
      phase: 'Succeeded',
      replaced: [],
    });
    expect(await labelAt(target.ip)).toBe(task.labelValue);
    await call('cleanup', { task });
    await expectNoJobsAndNothingLeftBehind('twice');
  });
});
