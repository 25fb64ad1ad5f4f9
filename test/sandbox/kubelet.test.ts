import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Container,
  type V1Job,
  type V1JobCondition,
  type V1JobSpec,
  type V1Pod,
  type V1Volume,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';
import { removeStaleKubeletDirs, startTestKubelet, type TestKubelet } from '../../sandbox/kubelet';
import { MountPoints, PLACEHOLDERS_FILE } from '../../sandbox/kubelet/mount-points';
import { removeStaleDirs, waitFor } from '../../sandbox/process';

const NS = 'default';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function clients(kubeconfigYaml: string): { core: CoreV1Api; batch: BatchV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  return { core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
}

/** Pids of processes whose environment carries this marker (every process of a test container). */
function markedPids(marker: string): number[] {
  const needle = `PENETRATOR_TEST_MARKER=${marker}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle))
        pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes anywhere on the machine that have a mount whose source lies under `dir`. */
function processesWithMountsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const lines = readFileSync(`/proc/${entry}/mountinfo`, 'utf8').split('\n');
      if (lines.some((l) => l.split(' ')[3]?.startsWith(dir) || l.split(' ')[4]?.startsWith(dir)))
        pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

const onNode = (node: string) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
      ],
    },
  },
});

interface JobOptions {
  volumes?: V1Volume[];
  spec?: Omit<V1JobSpec, 'template'>;
}

/** A Job pinned to `node` by node affinity, one container named main, never restarted. */
function job(name: string, node: string, container: Partial<V1Container>, opts: JobOptions = {}): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...opts.spec,
      template: {
        spec: {
          restartPolicy: 'Never',
          affinity: onNode(node),
          volumes: opts.volumes,
          containers: [{ name: 'main', image: 'penetrator/installer:test', ...container }],
        },
      },
    },
  };
}

async function finished(batch: BatchV1Api, name: string, timeoutMs = 90_000): Promise<V1JobCondition> {
  return waitFor(
    async () => {
      const j = await batch.readNamespacedJob({ name, namespace: NS });
      return j.status?.conditions?.find(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
    },
    { what: `Job ${name} to finish`, timeoutMs, intervalMs: 500 },
  );
}

async function podsOf(core: CoreV1Api, jobName: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${jobName}` })).items;
}

describe('test kubelet running Jobs', () => {
  let cp: ControlPlane;
  let kubelet: TestKubelet;
  let core: CoreV1Api;
  let batch: BatchV1Api;

  beforeAll(async () => {
    cp = await startControlPlane();
    kubelet = await startTestKubelet(cp, {
      nodes: [{ name: 'proxy-1', labels: { 'penetrator.test/role': 'proxy' } }, { name: 'worker-1' }],
    });
    ({ core, batch } = clients(cp.kubeconfigYaml));
  });

  afterAll(async () => {
    await kubelet?.stop();
    await cp?.stop();
  });

  it('registers Ready nodes with the standard labels', async () => {
    const node = await core.readNode({ name: 'proxy-1' });
    expect(node.metadata?.labels).toMatchObject({
      'kubernetes.io/hostname': 'proxy-1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'penetrator.test/role': 'proxy',
    });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.spec?.taints ?? []).toEqual([]);
    expect(node.status?.allocatable?.pods).toBe('110');
  });

  it('completes a pinned Job that reads a 0400 Secret, a ConfigMap and the downward API', async () => {
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'ssh-credential' }, stringData: { passwd: 'not-a-real-password' } },
    });
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'install-script' }, data: { 'install.sh': 'echo script-from-configmap\n' } },
    });
    const script = [
      'set -eu',
      'test "$(stat -c %a /etc/penetrator/credential/passwd)" = 400',
      'test "$(cat /etc/penetrator/credential/passwd)" = not-a-real-password',
      'if touch /etc/penetrator/credential/new 2>/dev/null; then echo "credential volume is writable"; exit 1; fi',
      'sh /etc/penetrator/script/install.sh',
      'echo "node=$NODE_NAME pod-namespace=$POD_NAMESPACE secret=ok"',
    ].join('\n');
    await batch.createNamespacedJob({
      namespace: NS,
      body: job(
        'reads-volumes',
        'proxy-1',
        {
          command: ['sh', '-c', script],
          env: [
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          ],
          volumeMounts: [
            { name: 'credential', mountPath: '/etc/penetrator/credential', readOnly: true },
            { name: 'script', mountPath: '/etc/penetrator/script' },
          ],
        },
        {
          volumes: [
            { name: 'credential', secret: { secretName: 'ssh-credential', defaultMode: 0o400 } },
            { name: 'script', configMap: { name: 'install-script' } },
          ],
        },
      ),
    });
    const condition = await finished(batch, 'reads-volumes');
    const [pod] = await podsOf(core, 'reads-volumes');
    const log = readFileSync(kubelet.logPath(NS, pod!.metadata!.name!, 'main'), 'utf8');
    expect(log).toContain('script-from-configmap');
    expect(log).toContain(`node=proxy-1 pod-namespace=${NS} secret=ok`);
    expect(condition.type).toBe('Complete');
    expect(pod!.spec?.nodeName).toBe('proxy-1');
    expect(pod!.status?.phase).toBe('Succeeded');
    expect(pod!.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
  });

  it('fails a Job after its backoffLimit with the exit code and termination message of each attempt', async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: job(
        'always-fails',
        'proxy-1',
        { command: ['sh', '-c', 'echo "install failed: target unreachable" > /dev/termination-log; exit 3'] },
        { spec: { backoffLimit: 1 } },
      ),
    });
    const condition = await finished(batch, 'always-fails', 120_000);
    expect(condition).toMatchObject({ type: 'Failed', reason: 'BackoffLimitExceeded' });
    const pods = await podsOf(core, 'always-fails');
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.spec?.nodeName).toBe('proxy-1');
      expect(pod.status?.phase).toBe('Failed');
      expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
        exitCode: 3,
        reason: 'Error',
        message: 'install failed: target unreachable\n',
      });
    }
  });

  it('honours FallbackToLogsOnError and a custom terminationMessagePath', async () => {
    const container = (name: string, extra: Partial<V1Container>): V1Container => ({
      name,
      image: 'ignored',
      ...extra,
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'termination-messages' },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { 'kubernetes.io/hostname': 'worker-1' },
          containers: [
            container('falls-back', {
              command: ['sh', '-c', 'echo first line; echo last words; exit 5'],
              terminationMessagePolicy: 'FallbackToLogsOnError',
            }),
            container('custom-path', {
              command: ['sh', '-c', 'printf done > /var/penetrator-test/result'],
              terminationMessagePath: '/var/penetrator-test/result',
            }),
          ],
        },
      },
    });
    const pod = await waitFor(
      async () => {
        const p = await core.readNamespacedPod({ name: 'termination-messages', namespace: NS });
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      { what: 'pod termination-messages to fail', timeoutMs: 60_000, intervalMs: 500 },
    );
    const byName = new Map(pod.status?.containerStatuses?.map((c) => [c.name, c.state?.terminated]));
    expect(byName.get('falls-back')).toMatchObject({
      exitCode: 5,
      reason: 'Error',
      message: 'first line\nlast words',
    });
    expect(byName.get('custom-path')).toMatchObject({ exitCode: 0, reason: 'Completed', message: 'done' });
    // The mount point was only a placeholder for the pod's lifetime.
    await waitFor(() => (existsSync('/var/penetrator-test') ? undefined : true), {
      what: 'placeholder removal',
      timeoutMs: 10_000,
    });
  });

  it('kills the process of a Job that exceeds activeDeadlineSeconds and removes its pod', async () => {
    const marker = randomUUID();
    await batch.createNamespacedJob({
      namespace: NS,
      body: job(
        'too-slow',
        'proxy-1',
        { command: ['sleep', '300'], env: [{ name: 'PENETRATOR_TEST_MARKER', value: marker }] },
        { spec: { activeDeadlineSeconds: 5 } },
      ),
    });
    // It really runs first: the deadline, not a start failure, ends it.
    const [pid] = await waitFor(() => (markedPids(marker).length > 0 ? markedPids(marker) : undefined), {
      what: 'the sleeping container process',
      timeoutMs: 30_000,
    });
    expect(alive(pid!)).toBe(true);

    const condition = await finished(batch, 'too-slow', 60_000);
    expect(condition).toMatchObject({ type: 'Failed', reason: 'DeadlineExceeded' });
    await waitFor(() => (markedPids(marker).length === 0 ? true : undefined), {
      what: 'the container process to be killed',
      timeoutMs: 15_000,
    });
    expect(alive(pid!)).toBe(false);
    await waitFor(async () => ((await podsOf(core, 'too-slow')).length === 0 ? true : undefined), {
      what: 'the deleted pod to be removed',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
  });

  it('lets the TTL controller delete a finished Job', async () => {
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('short-lived', 'proxy-1', { command: ['true'] }, { spec: { ttlSecondsAfterFinished: 1 } }),
    });
    await waitFor(
      async () => {
        try {
          await batch.readNamespacedJob({ name: 'short-lived', namespace: NS });
          return undefined;
        } catch (err: unknown) {
          return (err as { code?: number }).code === 404 ? true : undefined;
        }
      },
      { what: 'Job short-lived to be deleted by its TTL', timeoutMs: 60_000, intervalMs: 500 },
    );
    // The TTL controller deletes in the background: the Job's pod goes with it.
    await waitFor(async () => ((await podsOf(core, 'short-lived')).length === 0 ? true : undefined), {
      what: 'the pod of Job short-lived to be collected',
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await expect(batch.readNamespacedJob({ name: 'short-lived', namespace: NS })).rejects.toMatchObject({
      code: 404,
    });
  });
});

describe('test kubelet node in a network namespace', () => {
  const netns = `pen-kt-${randomUUID().slice(0, 8)}`;
  let cp: ControlPlane;
  let kubelet: TestKubelet;

  beforeAll(async () => {
    // A namespace of our own with only loopback: nothing is routed anywhere.
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    cp = await startControlPlane();
    kubelet = await startTestKubelet(cp, {
      nodes: [{ name: 'site-proxy', netns, addresses: [{ type: 'InternalIP', address: '198.18.77.2' }] }],
    });
  });

  afterAll(async () => {
    await kubelet?.stop();
    await cp?.stop();
    execFileSync('ip', ['netns', 'delete', netns]);
  });

  it("runs the node's pods inside its network namespace and reports the node address as pod IP", async () => {
    const { core, batch } = clients(cp.kubeconfigYaml);
    await batch.createNamespacedJob({
      namespace: NS,
      body: job('in-netns', 'site-proxy', {
        command: ['sh', '-c', 'echo "netns=$(stat -L -c %i /proc/self/ns/net) ip=$POD_IP"; ip -o link show'],
        env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
      }),
    });
    expect((await finished(batch, 'in-netns')).type).toBe('Complete');
    const [pod] = await podsOf(core, 'in-netns');
    const log = readFileSync(kubelet.logPath(NS, pod!.metadata!.name!, 'main'), 'utf8');
    const inode = statSync(`/run/netns/${netns}`).ino;
    expect(log).toContain(`netns=${inode} ip=198.18.77.2`);
    // Only the namespace's own loopback is visible, none of the host's interfaces.
    expect(log.match(/^\d+: /gm)).toHaveLength(1);
    expect(log).toContain('lo:');
    expect(pod!.status?.podIP).toBe('198.18.77.2');
  });
});

describe('mount-point placeholders', () => {
  it('keeps a placeholder while any kubelet uses it and never removes what existed before', () => {
    const base = mkdtempSync(join(tmpdir(), 'pen-mount-points-'));
    try {
      const target = join(base, 'etc', 'penetrator', 'credential');
      const a = new MountPoints();
      const b = new MountPoints();
      const leaseA = a.acquire(target, 'dir');
      const leaseB = b.acquire(target, 'dir');
      a.release([leaseA]);
      expect(existsSync(target)).toBe(true);
      b.release([leaseB]);
      expect(existsSync(join(base, 'etc'))).toBe(false);
      expect(existsSync(base)).toBe(true);

      const file = join(base, 'termination-log');
      const lease = a.acquire(file, 'file');
      expect(statSync(file).isFile()).toBe(true);
      expect(() => b.acquire(file, 'dir')).toThrow(/exists but is a file/);
      a.release([lease]);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

/** A pod that sleeps with a marker in its environment, with a ConfigMap volume and an emptyDir. */
async function sleeper(core: CoreV1Api, node: string, marker: string): Promise<void> {
  await core.createNamespacedConfigMap({
    namespace: NS,
    body: { metadata: { name: `cfg-${node}` }, data: { a: 'b' } },
  });
  await core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: `sleeper-${node}` },
      spec: {
        restartPolicy: 'Never',
        nodeSelector: { 'kubernetes.io/hostname': node },
        volumes: [
          { name: 'cfg', configMap: { name: `cfg-${node}` } },
          { name: 'scratch', emptyDir: {} },
        ],
        containers: [
          {
            name: 'main',
            image: 'ignored',
            command: ['sh', '-c', 'sleep 300 & wait'],
            env: [{ name: 'PENETRATOR_TEST_MARKER', value: marker }],
            volumeMounts: [
              { name: 'cfg', mountPath: '/etc/penetrator-sleeper' },
              { name: 'scratch', mountPath: '/var/penetrator-scratch' },
            ],
          },
        ],
      },
    },
  });
}

async function waitForMarked(marker: string, count: number): Promise<number[]> {
  return waitFor(() => (markedPids(marker).length >= count ? markedPids(marker) : undefined), {
    what: 'the pod processes',
    timeoutMs: 30_000,
  });
}

describe('teardown', () => {
  it('stop() leaves no process, directory or mount behind', async () => {
    const cp = await startControlPlane();
    const kubelet = await startTestKubelet(cp, { nodes: [{ name: 'teardown-1' }] });
    const marker = randomUUID();
    const podPids: number[] = [];
    try {
      await sleeper(clients(cp.kubeconfigYaml).core, 'teardown-1', marker);
      // sh and its sleep child: two processes, both must go.
      podPids.push(...(await waitForMarked(marker, 2)));
      // Positive control: while the pod runs, its mount namespace has the volume bind mounts. The
      // marked processes may be found while the launcher is still mounting, hence the bounded wait.
      const mounted = await waitFor(
        () => {
          const pids = processesWithMountsUnder(kubelet.workDir);
          return podPids.every((pid) => pids.includes(pid)) ? pids : undefined;
        },
        { what: 'the pod processes to hold the volume mounts', timeoutMs: 30_000 },
      );
      expect(mounted).toEqual(expect.arrayContaining(podPids));
    } finally {
      await kubelet.stop();
      await cp.stop();
    }
    expect([...Object.values(cp.pids), ...podPids].filter(alive)).toEqual([]);
    expect(markedPids(marker)).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
    expect(existsSync(kubelet.workDir)).toBe(false);
    expect(processesWithMountsUnder(kubelet.workDir)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(kubelet.workDir);
    expect(existsSync('/etc/penetrator-sleeper')).toBe(false);
  });

  it('a cluster whose owner is SIGKILLed dies with it, and the next run removes its files', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'sandbox/start-cluster.ts', '--json', '--node', 'crash-1'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const info = await new Promise<{
      dir: string;
      kubeletDir: string;
      kubeconfigPath: string;
      pids: Record<string, number>;
    }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`start-cluster gave no answer in 120 s: ${stderr}`)),
        120_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!out.includes('\n')) return;
        clearTimeout(timer);
        resolve(JSON.parse(out.split('\n')[0]!) as never);
      });
      child.once('exit', (code) => reject(new Error(`start-cluster exited with ${code}: ${stderr}`)));
    });
    const marker = randomUUID();
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfigPath);
    await sleeper(kc.makeApiClient(CoreV1Api), 'crash-1', marker);
    const podPids = await waitForMarked(marker, 2);
    const outside = readFileSync(join(info.kubeletDir, PLACEHOLDERS_FILE), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(outside).toContain('/etc/penetrator-sleeper');

    child.kill('SIGKILL');
    const pids = [...Object.values(info.pids), ...podPids];
    await waitFor(() => (pids.every((p) => !alive(p)) ? true : undefined), {
      what: `control-plane and pod processes to die with their owner (${pids.join(', ')})`,
      timeoutMs: 15_000,
    });

    // Nobody could clean up: the files stay until a later run sees that their owner is dead.
    expect(existsSync(info.dir)).toBe(true);
    expect(removeStaleDirs('penetrator-cp-')).toContain(info.dir);
    expect(removeStaleKubeletDirs()).toContain(info.kubeletDir);
    expect(existsSync(info.dir)).toBe(false);
    expect(existsSync(info.kubeletDir)).toBe(false);
    expect(outside.filter((p) => existsSync(p))).toEqual([]);
  });
});
