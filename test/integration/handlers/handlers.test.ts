/**
 * The workflow's handlers (through the local handler factory) against a real control plane and a
 * test kubelet running the proxy node: the Job controller, the garbage collector and the bootstrap
 * token machinery are the real ones. The install script here is a stand-in that checks its inputs
 * and succeeds or fails on demand; the real installer is tested on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kubeFromKubeconfig } from '../../../lambdas/adapters/kube';
import { caCertHash } from '../../../lambdas/domain/ca-hash';
import {
  LOCK_LEASE_NAME,
  NODE_TASK_LABEL,
  TASK_NAMESPACE,
  type AttemptRef,
  type CheckOutput,
  type LambdaName,
  type NodeResult,
  type NodeWork,
  type PlanOutput,
  type TaskRef,
  type WorkflowHandler,
} from '../../../lambdas/domain/contracts';
import {
  NODE_HASH_LABEL,
  RUN_LABEL,
  TASK_LABEL,
  nodeHash,
  nodeJobsSelector,
  runHash,
} from '../../../lambdas/domain/job-names';
import { bootstrapTokenIdFor, bootstrapTokenSecret } from '../../../lambdas/domain/bootstrap-token-secret';
import type {
  ConfigMapObject,
  JobObject,
  PodObject,
  LeaseObject,
  NodeObject,
  SecretObject,
} from '../../../lambdas/domain/kube-types';
import { lockHolder, lockLease } from '../../../lambdas/domain/lock-lease';
import type { EventObject } from '../../../lambdas/domain/task-events';
import { ErrorNames } from '../../../lambdas/errors';
import { MACHINE_LABEL, machineKey, machineSelector } from '../../../lambdas/domain/machine-key';
import { createLocalHandlers } from '../../../lambdas/local-handlers';
import { FileObjectStore } from '../../../lambdas/adapters/file-objects';
import { plannedLists, writeMapResults } from '../../support/work-objects';
import { deleteTaskToken, ensureTaskToken } from '../../../lambdas/use-cases/bootstrap-token';
import { resolveSettings } from '../../../lambdas/settings';
import { holdLock } from '../../../lambdas/use-cases/lock';
import type { Kube } from '../../../lambdas/ports';
import { startControlPlane, type ControlPlane } from '../../../sandbox/control-plane';
import { startTestKubelet, type TestKubelet } from '../../../sandbox/kubelet';
import { productIdentity } from '../../../sandbox/product-identity';

const PASSWORD = 'pw-never-in-a-job-spec';
const PROXY = 'proxy-1';
const execution = (name: string): string => `arn:aws:states:local:000000000000:execution:penetrator:${name}`;

/** Checks what the Job hands it, then succeeds, or fails like an unreachable machine for nodes named fail-*. */
const STAND_IN_SCRIPT = `#!/bin/sh
echo "installing $PENETRATOR_NODE_NAME at $PENETRATOR_TARGET_IP as $PENETRATOR_SSH_USER:$PENETRATOR_SSH_PORT"
test -r "$PENETRATOR_CREDENTIAL_DIR/token" || { echo "no token in $PENETRATOR_CREDENTIAL_DIR"; exit 4; }
test -r "$PENETRATOR_CREDENTIAL_DIR/passwd" || { echo "no passwd in $PENETRATOR_CREDENTIAL_DIR"; exit 4; }
grep -q '^CA_HASH=sha256:[0-9a-f]\\{64\\}$' "$PENETRATOR_PARAMS_FILE" || { echo "no CA hash in $PENETRATOR_PARAMS_FILE"; exit 5; }
grep -q '^SERVER=' "$PENETRATOR_PARAMS_FILE" || { echo "no server"; exit 5; }
case "$PENETRATOR_NODE_NAME" in
  fail-*) echo "ssh: connect to host $PENETRATOR_TARGET_IP port 22: Connection refused"; exit 3 ;;
  slow-*) sleep 30 ;;
esac
echo joined
`;

let cp: ControlPlane;
let kubelet: TestKubelet;
let kube: Kube;
let product: Kube;
let productKubeconfig: string;
let dir: string;
let handlers: Record<LambdaName, WorkflowHandler>;
let objects: FileObjectStore;

function call<O>(name: LambdaName, payload: unknown): Promise<O> {
  // Payloads cross a JSON boundary in Step Functions: so they do here.
  return handlers[name](JSON.parse(JSON.stringify(payload))) as Promise<O>;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (value === undefined) throw new Error(`timed out waiting for ${what}`);
      return value;
    },
    { timeout: timeoutMs, interval: 250 },
  );
}

function nodeTask(name: string, spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'edge-root', proxyNode: PROXY, ...spec },
  };
}

beforeAll(async () => {
  cp = await startControlPlane();
  kubelet = await startTestKubelet(cp, { nodes: [{ name: PROXY }] });
  // The tests' own setup and checks are the admin's; the product gets a token bound to its RBAC only.
  kube = kubeFromKubeconfig('test', cp.kubeconfigYaml);
  productKubeconfig = (await productIdentity(cp)).kubeconfigYaml;
  product = kubeFromKubeconfig('test', productKubeconfig);
  dir = mkdtempSync(join(tmpdir(), 'penetrator-handlers-'));
  writeFileSync(join(dir, 'credential.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'install.sh'), STAND_IN_SCRIPT);
  objects = new FileObjectStore(join(dir, 'objects'));
  handlers = createLocalHandlers({
    kubeconfigYaml: productKubeconfig,
    clusterName: 'test',
    credentialPath: join(dir, 'credential.yaml'),
    installScriptPath: join(dir, 'install.sh'),
    objectsPath: join(dir, 'objects'),
    settings: { jobTtlSecondsAfterFinished: 3600, taskDeadlineSeconds: 3600, lockLeaseSeconds: 120 },
  });
});

afterAll(async () => {
  await kubelet?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('plan', () => {
  it('refuses, where the deployment requires known hosts, a target whose host key is not known', async () => {
    const strict = createLocalHandlers({
      kubeconfigYaml: productKubeconfig,
      clusterName: 'test',
      credentialPath: join(dir, 'credential.yaml'),
      installScriptPath: join(dir, 'install.sh'),
      objectsPath: join(dir, 'objects'),
      settings: { taskDeadlineSeconds: 3600, requireKnownHosts: true },
    });
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheTarget';
    const spec = { nodeNamePrefix: 'edge', targetMachines: ['198.18.1.10', '198.18.1.11'] };
    const refused = await strict
      .plan({
        input: { nodeTask: nodeTask('strict', { ...spec, knownHosts: `198.18.1.10 ${key}\n` }) },
        executionId: execution('strict-1'),
      })
      .catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ name: ErrorNames.InvalidNodeTask });
    expect((refused as Error).message).toContain(
      'spec.knownHosts: no host key for 198.18.1.11 in it or in credential edge-root',
    );
    expect((refused as Error).message).not.toContain('198.18.1.10');

    const known = `198.18.1.10 ${key}\n198.18.1.11 ${key}\n`;
    const planned = (await strict.plan({
      input: { nodeTask: nodeTask('strict', { ...spec, knownHosts: known }) },
      executionId: execution('strict-2'),
    })) as PlanOutput;
    expect((await plannedLists(objects, planned)).nodes.map((n) => n.ip)).toEqual([
      '198.18.1.10',
      '198.18.1.11',
    ]);
  });

  it('refuses an invalid document with every problem', async () => {
    const error = await call('plan', {
      input: { nodeTask: { kind: 'NodeTask' } },
      executionId: execution('bad'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: ErrorNames.InvalidNodeTask });
    expect((error as Error).message).toMatch(/apiVersion/);
    expect((error as Error).message).toMatch(/metadata/);
  });

  it('refuses a cluster that is not registered', async () => {
    const task = nodeTask('t-cluster', { nodeNamesOverride: { 'edge-x': '198.18.0.9' } });
    const error = await call('plan', {
      input: { nodeTask: task, cluster: 'elsewhere' },
      executionId: execution('c'),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: ErrorNames.ClusterNotFound });
  });

  it('names the proxy node that is missing', async () => {
    const task = nodeTask('t-proxy', {
      proxyNode: 'no-such-proxy',
      nodeNamesOverride: { 'edge-x': '198.18.0.9' },
    });
    const error = await call('plan', { input: { nodeTask: task }, executionId: execution('p') }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: ErrorNames.ProxyNodeNotReady });
    expect((error as Error).message).toContain('no-such-proxy not found');
  });

  it('refuses a missing credential without touching the cluster', async () => {
    const local = createLocalHandlers({
      kubeconfigYaml: productKubeconfig,
      clusterName: 'test',
      credentialPath: join(dir, 'missing.yaml'),
    });
    const task = nodeTask('t-cred', { nodeNamesOverride: { 'edge-x': '198.18.0.9' } });
    const error = await local
      .plan({ input: { nodeTask: task }, executionId: execution('k') })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: ErrorNames.CredentialInvalid });
  });

  it('marks a machine whose Node exists under another label for reinstall, and skips one already installed', async () => {
    await kube.create<NodeObject>({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'old-edge', labels: { [NODE_TASK_LABEL]: 'older-task-abcdef' } },
    });
    const task = nodeTask('t-re', {
      nodeNamesOverride: { 'old-edge': '198.18.0.20', 'new-edge': '198.18.0.21' },
    });
    const first = await call<PlanOutput>('plan', {
      input: { nodeTask: task },
      executionId: execution('re-1'),
    });
    expect((await plannedLists(objects, first)).nodes).toEqual([
      { name: 'old-edge', ip: '198.18.0.20', proxyNode: PROXY, reinstall: true },
      { name: 'new-edge', ip: '198.18.0.21', proxyNode: PROXY, reinstall: false },
    ]);
    expect(first.task).toMatchObject({
      name: 't-re',
      cluster: 'test',
      mode: 'proxy',
      executionId: execution('re-1'),
    });
    expect(first.task.labelValue).toMatch(/^t-re-[a-z0-9]{6}$/);
  });
});

describe('lock', () => {
  const task = (name: string): TaskRef => ({
    name: 'lock-task',
    cluster: 'test',
    labelValue: 'lock-task-abcdef',
    mode: 'proxy',
    installer: 'edgeadm',
    credential: 'edge-root',
    sshUser: 'root',
    sshPort: 22,
    executionId: execution(name),
    maxAttempts: 2,
    attemptTimeoutSeconds: 120,
    pollSeconds: 5,
  });
  const lease = () =>
    kube.get<LeaseObject>({ kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME });

  it('lets one execution in, turns the next away naming the holder, and only the holder releases it', async () => {
    expect(await call('lock', { action: 'acquire', task: task('one') })).toEqual({ lock: 'acquired' });
    expect(await call('lock', { action: 'acquire', task: task('one') })).toEqual({ lock: 'renewed' });
    const busy = await call('lock', {
      action: 'acquire',
      task: { ...task('two'), name: 'other-task' },
    }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ name: ErrorNames.ClusterBusy });
    expect((busy as Error).message).toContain('task lock-task is running');
    // Who, since when, and until when: enough to tell a live task from the lock of a run that died.
    expect((busy as Error).message).toMatch(/\(holding the lock since \S+Z, until \S+Z unless renewed\)/);

    expect(await call('cleanup', { task: { ...task('two'), name: 'other-task' } })).toMatchObject({
      lock: 'not-held',
    });
    expect((await lease())?.spec.holderIdentity).toBe('lock-task/one');
    expect(await call('cleanup', { task: task('one') })).toMatchObject({ lock: 'released' });
    expect(await lease()).toBeUndefined();
    expect(await call('cleanup', { task: task('one') })).toMatchObject({
      lock: 'not-held',
      credentialSecret: 'absent',
    });
  });

  it('lets exactly one of two racing executions win', async () => {
    const outcomes = await Promise.allSettled([
      call('lock', { action: 'acquire', task: { ...task('race-a'), name: 'racer-a' } }),
      call('lock', { action: 'acquire', task: { ...task('race-b'), name: 'racer-b' } }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toMatchObject({ name: ErrorNames.ClusterBusy });
    const winner = (await lease())!.spec.holderIdentity!;
    const [winnerName, winnerExec] = winner.split('/');
    await call('cleanup', { task: { ...task(winnerExec!), name: winnerName } });
    expect(await lease()).toBeUndefined();
  });

  it('is renewed by its holder once a third of its duration has passed, and held only by it', async () => {
    const holder = task('renewing');
    await call('lock', { action: 'acquire', task: holder });
    const taken = (await lease())!.spec.renewTime!;
    const at = (seconds: number) => ({
      settings: resolveSettings({ lockLeaseSeconds: 120 }),
      clock: () => new Date(Date.parse(taken) + seconds * 1000),
    });

    await holdLock(at(30), product, holder);
    expect((await lease())!.spec.renewTime).toBe(taken);
    await holdLock(at(50), product, holder);
    expect(Date.parse((await lease())!.spec.renewTime!)).toBe(Date.parse(taken) + 50_000);
    await expect(
      holdLock(at(60), product, { ...holder, executionId: execution('other') }),
    ).rejects.toMatchObject({
      name: ErrorNames.LockLost,
    });
    await call('cleanup', { task: holder });
  });

  it('takes over a lock whose holder stopped renewing it', async () => {
    const stale = lockLease({
      name: LOCK_LEASE_NAME,
      holder: lockHolder('crashed', 'gone'),
      durationSeconds: 60,
      now: new Date(Date.now() - 120_000),
    });
    await kube.create(stale);
    expect(await call('lock', { action: 'acquire', task: task('after-crash') })).toEqual({
      lock: 'taken-over',
    });
    const taken = await lease();
    expect(taken?.spec).toMatchObject({
      holderIdentity: 'lock-task/after-crash',
      leaseTransitions: 1,
      leaseDurationSeconds: 120,
    });
    await call('cleanup', { task: task('after-crash') });
  });
});

describe('a task from prepare to cleanup', () => {
  let planned: PlanOutput;
  let plannedNodes: NodeWork[];
  let prepared: TaskRef;
  const document = nodeTask('t-flow', {
    nodeNamesOverride: { 'edge-ok': '198.18.1.10', 'fail-edge': '198.18.1.11' },
    maxAttempts: 2,
    attemptTimeoutSeconds: 60,
  });

  const nodeInput = (name: string, attempt?: AttemptRef) => ({
    task: prepared,
    node: plannedNodes.find((n) => n.name === name)!,
    ...(attempt ? { attempt } : {}),
  });

  async function settle(name: string, attempt: AttemptRef): Promise<CheckOutput | Error> {
    return until(`the attempt ${attempt.job} to finish`, async () => {
      try {
        return await call<CheckOutput>('checkInstall', nodeInput(name, attempt));
      } catch (error) {
        // Still running: Check install's Retry would look again.
        return (error as Error).name === ErrorNames.InstallRunning ? undefined : (error as Error);
      }
    });
  }

  it('plans and takes the lock', async () => {
    planned = await call<PlanOutput>('plan', {
      input: { nodeTask: document },
      executionId: execution('flow-1'),
    });
    plannedNodes = (await plannedLists(objects, planned)).nodes;
    expect(plannedNodes.map((n) => n.name)).toEqual(['edge-ok', 'fail-edge']);
    await call('lock', { action: 'acquire', task: planned.task });
  });

  it('prepares owned objects, and reuses the task object and bootstrap token when run again', async () => {
    prepared = await call<TaskRef>('prepare', {
      task: planned.task,
      work: planned.work,
    });
    expect(prepared).toMatchObject({
      taskObject: 'penetrator-task-t-flow',
      credentialSecret: 'penetrator-credential-t-flow',
      scriptConfigMap: 'penetrator-script-t-flow',
    });
    const owner = await kube.get<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      name: prepared.taskObject!,
    });
    expect(owner?.metadata.uid).toBe(prepared.ownerUid);
    expect(owner?.data).toMatchObject({
      labelValue: planned.task.labelValue,
      executionId: execution('flow-1'),
    });
    expect(JSON.parse(owner!.data!.assignment!)).toEqual({
      'edge-ok': '198.18.1.10',
      'fail-edge': '198.18.1.11',
    });

    const secret = await kube.get<SecretObject>({
      kind: 'Secret',
      namespace: TASK_NAMESPACE,
      name: prepared.credentialSecret!,
    });
    expect(secret?.type).toBe('Opaque');
    expect(Object.keys(secret!.data!).sort()).toEqual(['passwd', 'token']);
    expect(Buffer.from(secret!.data!.passwd!, 'base64').toString()).toBe(PASSWORD);
    const token = Buffer.from(secret!.data!.token!, 'base64').toString();
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const tokenSecret = await kube.get<SecretObject>({
      kind: 'Secret',
      namespace: 'kube-system',
      name: `bootstrap-token-${token.split('.')[0]}`,
    });
    expect(tokenSecret?.type).toBe('bootstrap.kubernetes.io/token');
    // One token per execution, named after it, expiring with the task's deadline (1 h here).
    expect(token.split('.')[0]).toBe(bootstrapTokenIdFor(execution('flow-1')));
    const expiration = Date.parse(Buffer.from(tokenSecret!.data!.expiration!, 'base64').toString());
    expect(expiration).toBeGreaterThan(Date.now() + 3000_000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 3600_000);

    const script = await kube.get<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      name: prepared.scriptConfigMap!,
    });
    expect(script?.data?.['install.sh']).toBe(STAND_IN_SCRIPT);
    expect(script?.data?.params).toBe(
      `SERVER=127.0.0.1:${new URL(cp.server).port}\nCA_HASH=${caCertHash(cp.caPem)}\nPACKAGE=/opt/penetrator/package\n`,
    );
    for (const owned of [secret!, script!]) {
      expect(owned.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: prepared.taskObject,
          uid: prepared.ownerUid,
          controller: false,
          blockOwnerDeletion: true,
        },
      ]);
    }

    const again = await call<TaskRef>('prepare', {
      task: planned.task,
      work: planned.work,
    });
    expect(again.ownerUid).toBe(prepared.ownerUid);
    const secretAgain = await kube.get<SecretObject>({
      kind: 'Secret',
      namespace: TASK_NAMESPACE,
      name: prepared.credentialSecret!,
    });
    expect(Buffer.from(secretAgain!.data!.token!, 'base64').toString()).toBe(token);
  });

  it('adopts the running attempt instead of starting a second one', async () => {
    const first = await call<AttemptRef>('startInstall', nodeInput('edge-ok'));
    const second = await call<AttemptRef>('startInstall', nodeInput('edge-ok'));
    expect(second).toEqual(first);
    expect(first.number).toBe(1);
    const jobs = await kube.list<JobObject>({
      kind: 'Job',
      namespace: TASK_NAMESPACE,
      labelSelector: `${TASK_LABEL}=t-flow,${RUN_LABEL}=${runHash(execution('flow-1'))}`,
    });
    expect(jobs.map((j) => j.metadata.name)).toEqual([first.job]);
    const json = JSON.stringify(jobs[0]);
    expect(json).not.toContain(PASSWORD);
    const token = (await kube.get<SecretObject>({
      kind: 'Secret',
      namespace: TASK_NAMESPACE,
      name: prepared.credentialSecret!,
    }))!.data!.token!;
    expect(json).not.toContain(Buffer.from(token, 'base64').toString().split('.')[1]);
  });

  it('waits for the Node to register after a successful Job, then labels it', async () => {
    const attempt = await call<AttemptRef>('startInstall', nodeInput('edge-ok'));
    const outcome = await settle('edge-ok', attempt);
    expect(outcome).toMatchObject({ name: ErrorNames.NodeNotRegistered });

    // The join registers the Node; the stand-in script does not, so the test does it.
    await kube.create<NodeObject>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-ok' } });
    // The retry starts a new attempt, which adopts the succeeded Job.
    expect(await call<AttemptRef>('startInstall', nodeInput('edge-ok'))).toEqual(attempt);
    expect(await call<CheckOutput>('checkInstall', nodeInput('edge-ok', attempt))).toEqual({
      phase: 'Succeeded',
      replaced: [],
    });
    const node = await kube.get<NodeObject>({ kind: 'Node', name: 'edge-ok' });
    expect(node?.metadata.labels?.[NODE_TASK_LABEL]).toBe(planned.task.labelValue);
    const events = await kube.list<EventObject>({
      kind: 'Event',
      namespace: TASK_NAMESPACE,
      fieldSelector: 'reason=NodeInstalled',
    });
    expect(
      events.some((e) => e.message.includes('edge-ok') && e.involvedObject.uid === prepared.ownerUid),
    ).toBe(true);
  });

  it("reports the real reason of a failed attempt, retries, and stops at the task's attempt limit", async () => {
    const first = await call<AttemptRef>('startInstall', nodeInput('fail-edge'));
    const failure = await settle('fail-edge', first);
    expect(failure).toMatchObject({ name: ErrorNames.InstallFailed });
    expect((failure as Error).message).toContain('exit code 3');
    expect((failure as Error).message).toContain('Connection refused');

    const second = await call<AttemptRef>('startInstall', nodeInput('fail-edge'));
    expect(second.number).toBe(2);
    expect(await settle('fail-edge', second)).toMatchObject({ name: ErrorNames.InstallFailed });
    const exhausted = await call('startInstall', nodeInput('fail-edge')).catch((e: unknown) => e);
    expect(exhausted).toMatchObject({ name: ErrorNames.AttemptsExhausted });
    expect((exhausted as Error).message).toContain('Connection refused');
  });

  it('summarizes into the task object and Events, then cleans up idempotently', async () => {
    const results: NodeResult[] = [
      { name: 'edge-ok', ip: '198.18.1.10', state: 'installed' },
      {
        name: 'fail-edge',
        ip: '198.18.1.11',
        state: 'failed',
        error: ErrorNames.AttemptsExhausted,
        reason: 'exit code 3: Connection refused',
      },
    ];
    const summary = await call<{ failed: number; nodetaskStatus: string }>('summarize', {
      task: prepared,
      work: planned.work,
      results: await writeMapResults(objects, planned, results),
    });
    expect(summary).toMatchObject({ failed: 1, nodetaskStatus: 'creating' });
    const owner = await kube.get<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      name: prepared.taskObject!,
    });
    expect(JSON.parse(owner!.data!.status!)).toEqual({
      nodetaskStatus: 'creating',
      nodeStatus: { 'fail-edge': '198.18.1.11' },
    });
    const events = await kube.list<EventObject>({
      kind: 'Event',
      namespace: TASK_NAMESPACE,
      labelSelector: `${TASK_LABEL}=t-flow`,
    });
    expect(events.filter((e) => e.reason === 'NodeInstallFailed').map((e) => e.type)).toEqual(['Warning']);
    expect(events.filter((e) => e.reason === 'TaskFailed')).toHaveLength(1);

    const tokenName = `bootstrap-token-${bootstrapTokenIdFor(prepared.executionId)}`;
    expect(await kube.get({ kind: 'Secret', namespace: 'kube-system', name: tokenName })).toBeDefined();
    expect(await call('cleanup', { task: prepared })).toEqual({
      credentialSecret: 'deleted',
      bootstrapToken: 'deleted',
      lock: 'released',
    });
    expect(await kube.get({ kind: 'Secret', namespace: 'kube-system', name: tokenName })).toBeUndefined();
    expect(await call('cleanup', { task: prepared })).toEqual({
      credentialSecret: 'absent',
      bootstrapToken: 'absent',
      lock: 'not-held',
    });
  });

  it("follows an earlier run's attempt while it runs, but not once it has finished", async () => {
    await call('lock', { action: 'acquire', task: prepared });
    const slow = { name: 'slow-edge', ip: '198.18.1.12', proxyNode: PROXY, reinstall: false };
    const first = await call<AttemptRef>('startInstall', { task: prepared, node: slow });
    const finished = await call<AttemptRef>('startInstall', nodeInput('edge-ok'));
    // The earlier run dies (its lock lapses, no cleanup ran); a later run of the same task takes the lock.
    await call('lock', { action: 'release', task: prepared });
    const laterRun = { ...prepared, executionId: execution('flow-9') };
    await call('lock', { action: 'acquire', task: laterRun });

    expect(await call<AttemptRef>('startInstall', { task: laterRun, node: slow })).toEqual(first);
    const fresh = await call<AttemptRef>('startInstall', { task: laterRun, node: nodeInput('edge-ok').node });
    expect(fresh.number).toBe(1);
    expect(fresh.job).not.toBe(finished.job);
  });

  it('stops a run that no longer holds the lock before it writes anything, naming the holder', async () => {
    const jobs = async () => (await kube.list<JobObject>({ kind: 'Job', namespace: TASK_NAMESPACE })).length;
    const before = await jobs();
    const other = { name: 'late-edge', ip: '198.18.1.13', proxyNode: PROXY, reinstall: false };

    const lost = await call('startInstall', { task: prepared, node: other }).catch((e: unknown) => e);

    expect(lost).toMatchObject({ name: ErrorNames.LockLost });
    expect((lost as Error).message).toMatch(
      /^task t-flow no longer holds the lock of cluster test: task t-flow holds it now \(since \S+Z, until \S+Z unless renewed\); stopped before writing$/,
    );
    expect(await jobs()).toBe(before);
    await call('cleanup', { task: { ...prepared, executionId: execution('flow-9') } });
  });

  it('starts a next attempt only once every earlier attempt’s Pod has ended', async () => {
    await call('lock', { action: 'acquire', task: prepared });
    const node = { name: 'linger-edge', ip: '198.18.1.14', proxyNode: PROXY, reinstall: false };
    // An earlier attempt's Pod that has not ended (never scheduled here, so it stays Pending).
    await kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'linger-edge-earlier',
        namespace: TASK_NAMESPACE,
        labels: { [TASK_LABEL]: 't-flow', [NODE_HASH_LABEL]: nodeHash('linger-edge') },
      },
      spec: {
        nodeSelector: { 'penetrator.test/nowhere': 'true' },
        containers: [{ name: 'c', image: 'none' }],
      },
    } as unknown as PodObject);
    const jobsOf = () =>
      kube.list<JobObject>({
        kind: 'Job',
        namespace: TASK_NAMESPACE,
        labelSelector: nodeJobsSelector('t-flow', 'linger-edge'),
      });

    const waiting = await call('startInstall', { task: prepared, node }).catch((e: unknown) => e);

    expect(waiting).toMatchObject({ name: ErrorNames.Transient });
    expect((waiting as Error).message).toContain(
      'Pod linger-edge-earlier of an earlier install of the machine is still Pending; the next attempt waits for it to end',
    );
    expect(await jobsOf()).toEqual([]);
    await kube.delete({ kind: 'Pod', namespace: TASK_NAMESPACE, name: 'linger-edge-earlier' });
    expect(await call<AttemptRef>('startInstall', { task: prepared, node })).toMatchObject({ number: 1 });
    expect(await jobsOf()).toHaveLength(1);
    await call('cleanup', { task: prepared });
  });

  it('waits for another task’s Pod on the same machine, whatever name that task gave it', async () => {
    await call('lock', { action: 'acquire', task: prepared });
    const node = { name: 'machine-edge', ip: '198.18.1.15', proxyNode: PROXY, reinstall: false };
    // Another task's install of this very machine (same site, same address) under another node name.
    await kube.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'other-task-install',
        namespace: TASK_NAMESPACE,
        labels: {
          [TASK_LABEL]: 'other-task',
          [NODE_HASH_LABEL]: nodeHash('other-name'),
          [MACHINE_LABEL]: machineKey(node),
        },
      },
      spec: {
        nodeSelector: { 'penetrator.test/nowhere': 'true' },
        containers: [{ name: 'c', image: 'none' }],
      },
    } as unknown as PodObject);
    const jobsOf = () =>
      kube.list<JobObject>({ kind: 'Job', namespace: TASK_NAMESPACE, labelSelector: machineSelector(node) });

    const waiting = await call('startInstall', { task: prepared, node }).catch((e: unknown) => e);

    expect(waiting).toMatchObject({ name: ErrorNames.Transient });
    expect((waiting as Error).message).toContain(
      'Pod other-task-install of an earlier install of the machine',
    );
    expect(await jobsOf()).toEqual([]);
    // The same address at another site is another machine: it does not wait.
    const elsewhere = { ...node, name: 'elsewhere-edge', proxyNode: 'another-proxy' };
    expect(machineKey(elsewhere)).not.toBe(machineKey(node));
    await kube.delete({ kind: 'Pod', namespace: TASK_NAMESPACE, name: 'other-task-install' });
    expect(await call<AttemptRef>('startInstall', { task: prepared, node })).toMatchObject({ number: 1 });
    const [job] = await jobsOf();
    expect(job?.metadata.labels?.[MACHINE_LABEL]).toBe(machineKey(node));
    expect(job?.spec?.template?.metadata?.labels?.[MACHINE_LABEL]).toBe(machineKey(node));
    await call('cleanup', { task: prepared });
  });

  it('continues a re-submitted task where it stopped, and refuses a changed one', async () => {
    const again = await call<PlanOutput>('plan', {
      input: { nodeTask: document },
      executionId: execution('flow-2'),
    });
    expect(again.task.labelValue).toBe(planned.task.labelValue);
    const lists = await plannedLists(objects, again);
    expect(lists.skipped).toEqual([{ name: 'edge-ok', ip: '198.18.1.10' }]);
    expect(lists.nodes).toEqual([
      { name: 'fail-edge', ip: '198.18.1.11', proxyNode: PROXY, reinstall: false },
    ]);

    const changed = nodeTask('t-flow', { nodeNamesOverride: { 'edge-ok': '198.18.1.10' } });
    const conflict = await call('plan', {
      input: { nodeTask: changed },
      executionId: execution('flow-3'),
    }).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ name: ErrorNames.TaskConflict });
    expect((conflict as Error).message).toContain('a task cannot be updated');
  });

  it("leaves garbage collection of the task's objects to the task object", async () => {
    const jobs = await kube.list<JobObject>({
      kind: 'Job',
      namespace: TASK_NAMESPACE,
      labelSelector: `${TASK_LABEL}=t-flow`,
    });
    expect(jobs.length).toBeGreaterThan(0);
    expect(
      await kube.delete({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: prepared.taskObject! }),
    ).toBe('deleted');
    await until(
      "the garbage collector to delete the task's objects",
      async () => {
        const left = [
          ...(await kube.list({
            kind: 'Job',
            namespace: TASK_NAMESPACE,
            labelSelector: `${TASK_LABEL}=t-flow`,
          })),
          ...(await kube.list({
            kind: 'ConfigMap',
            namespace: TASK_NAMESPACE,
            labelSelector: `${TASK_LABEL}=t-flow`,
          })),
        ];
        return left.length === 0 ? true : undefined;
      },
      120_000,
    );
  });
});

describe('the join token', () => {
  const ref = (name: string, run: string) => ({ name, executionId: execution(run) });
  const tokenOf = (run: string) => ({
    kind: 'Secret' as const,
    namespace: 'kube-system',
    name: `bootstrap-token-${bootstrapTokenIdFor(execution(run))}`,
  });

  it('is created once per execution, found again by name on a retried Prepare, and deleted by name', async () => {
    const first = await ensureTaskToken(product, ref('token-task', 'tok-1'), new Date(), 600);
    const again = await ensureTaskToken(product, ref('token-task', 'tok-1'), new Date(), 600);
    expect(first.reused).toBe(false);
    expect(again).toMatchObject({ reused: true, token: { id: first.token.id, secret: first.token.secret } });
    const other = await ensureTaskToken(product, ref('token-task', 'tok-2'), new Date(), 600);
    expect(other.token.id).not.toBe(first.token.id);

    expect(await deleteTaskToken(product, ref('token-task', 'tok-1'))).toBe('deleted');
    expect(await kube.get(tokenOf('tok-1'))).toBeUndefined();
    expect(await kube.get(tokenOf('tok-2'))).toBeDefined();
    expect(await deleteTaskToken(product, ref('token-task', 'tok-2'))).toBe('deleted');
  });

  it('neither uses nor deletes a token of that name that another task made', async () => {
    const id = bootstrapTokenIdFor(execution('tok-foreign'));
    await kube.create(
      bootstrapTokenSecret({
        id,
        secret: '0123456789abcdef',
        expires: new Date(Date.now() + 3600_000),
        taskName: 'someone-else',
      }),
    );
    const error = await ensureTaskToken(product, ref('token-task', 'tok-foreign'), new Date(), 600).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ name: ErrorNames.Transient });
    expect((error as Error).message).toContain('was not created by task token-task');
    expect((error as Error).message).not.toContain('0123456789abcdef');
    expect(await deleteTaskToken(product, ref('token-task', 'tok-foreign'))).toBe('foreign');
    expect(await kube.get(tokenOf('tok-foreign'))).toBeDefined();
    expect(await deleteTaskToken(product, ref('someone-else', 'tok-foreign'))).toBe('deleted');
  });
});
