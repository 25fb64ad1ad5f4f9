/**
 * The test kubelet: registers Nodes with the real apiserver, keeps them Ready, and runs the Pods the
 * real scheduler binds to them as local processes (see pod-runner.ts). It is what lets the Job
 * controller, its backoff, deadlines and the garbage collector run for real in the tests.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ControlPlane } from '../control-plane';
import { createOwnedDir, markKept, removeStaleDirs, sleep, waitFor } from '../process';
import { MountPoints, PLACEHOLDERS_FILE, removeRecordedPlaceholders } from './mount-points';
import { microTime, nodeObject, nodeStatusPatch, rfc3339, type TestNodeSpec } from './objects';
import { logFileName, PodRunner, type RunnerDeps } from './pod-runner';
import type { SimulatedInstallOptions } from './simulated-install';

export type { TestNodeSpec } from './objects';

export interface TestKubeletOptions {
  nodes: TestNodeSpec[];
  /** Parent of the kubelet's temp dir. Default os.tmpdir(). */
  workDir?: string;
  /** How often Pods are listed. Default 500 ms. */
  syncIntervalMs?: number;
  /** How often Node status and Lease are renewed. Default 10 s. */
  heartbeatIntervalMs?: number;
  /**
   * The benchmark's mode: install containers do not run; each takes the given time, then registers
   * its Node as the stand-in join does, or fails (simulated-install.ts). Other containers run.
   */
  simulateInstall?: SimulatedInstallOptions;
}

export interface TestKubelet {
  /** The kubelet's temp dir: pod volumes under pods/, container output under logs/. Removed by stop(). */
  workDir: string;
  logsDir: string;
  /** Output of one container of one pod. */
  logPath(namespace: string, pod: string, container: string): string;
  /** Kills every pod process, stops heartbeats and syncing, removes the work dir. */
  stop(): Promise<void>;
}

const LEASE_SECONDS = 40;
const KUBELET_DIR_PREFIX = 'penetrator-kubelet-';

const removeOwnPlaceholders = (dir: string): void => removeRecordedPlaceholders(join(dir, PLACEHOLDERS_FILE));

/**
 * Removes the work dirs of test kubelets whose process died without stopping (and the mount-point
 * placeholders they left on the host). startTestKubelet does this itself; returns the removed dirs.
 */
export function removeStaleKubeletDirs(parent?: string): string[] {
  return removeStaleDirs(KUBELET_DIR_PREFIX, parent, removeOwnPlaceholders);
}
const ANNOUNCE_TIMEOUT_MS = 30_000;

function isCode(err: unknown, code: number): boolean {
  return (err as { code?: number }).code === code;
}

const mergePatch = (): ReturnType<typeof setHeaderOptions> =>
  setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function apiserverHostPort(url: string): { host: string; port: string } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || '443' };
}

export async function startTestKubelet(
  cp: Pick<ControlPlane, 'kubeconfigYaml' | 'siteServer'>,
  opts: TestKubeletOptions,
): Promise<TestKubelet> {
  if (opts.nodes.length === 0) throw new Error('startTestKubelet: at least one node is needed');
  const kc = new KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml);
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const workDir = createOwnedDir(KUBELET_DIR_PREFIX, opts.workDir, removeOwnPlaceholders);
  const logsDir = join(workDir, 'logs');
  mkdirSync(logsDir);
  mkdirSync(join(workDir, 'pods'));
  const kubeletLog = (message: string): void => {
    process.stderr.write(`[test-kubelet] ${message}\n`);
  };

  const mountPoints = new MountPoints(join(workDir, PLACEHOLDERS_FILE));
  const runners = new Map<string, PodRunner>();
  const deleting = new Set<string>();
  let stopping = false;
  let imageNoted = false;

  const deps = (node: TestNodeSpec): RunnerDeps => ({
    core,
    node,
    workDir,
    logsDir,
    mountPoints,
    apiserver: apiserverHostPort(cp.siteServer),
    log: kubeletLog,
    ...(opts.simulateInstall ? { simulateInstall: opts.simulateInstall } : {}),
    noteImage: (image: string) => {
      if (imageNoted || image === '') return;
      imageNoted = true;
      kubeletLog(
        `container images are ignored (first seen: ${image}); containers run their command on the host`,
      );
    },
  });

  // --- nodes and heartbeats -------------------------------------------------------------------
  const heartbeat = async (node: TestNodeSpec): Promise<void> => {
    await core.patchNodeStatus(
      { name: node.name, body: nodeStatusPatch(node, rfc3339(), true) },
      mergePatch(),
    );
    const leaseBody = {
      spec: { holderIdentity: node.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() },
    };
    try {
      await coordination.patchNamespacedLease(
        { name: node.name, namespace: 'kube-node-lease', body: leaseBody },
        mergePatch(),
      );
    } catch (err: unknown) {
      if (!isCode(err, 404)) throw err;
      await coordination.createNamespacedLease({
        namespace: 'kube-node-lease',
        body: {
          metadata: { name: node.name, ownerReferences: await nodeOwner(node.name) },
          spec: { holderIdentity: node.name, leaseDurationSeconds: LEASE_SECONDS },
        },
      });
      await coordination.patchNamespacedLease(
        { name: node.name, namespace: 'kube-node-lease', body: leaseBody },
        mergePatch(),
      );
    }
  };
  const nodeOwner = async (name: string) => {
    const n = await core.readNode({ name });
    return [{ apiVersion: 'v1', kind: 'Node', name, uid: n.metadata?.uid ?? '' }];
  };

  const registerNode = async (node: TestNodeSpec): Promise<void> => {
    const { metadata, spec } = nodeObject(node);
    try {
      await core.createNode({ body: nodeObject(node) });
    } catch (err: unknown) {
      if (!isCode(err, 409)) throw err;
      // A node left by an earlier kubelet: take it over with this spec's labels.
      await core.patchNode(
        { name: node.name, body: { metadata: { labels: metadata?.labels } } },
        mergePatch(),
      );
    }
    await waitFor(
      async () => {
        await heartbeat(node);
        return true;
      },
      { what: `node ${node.name}: first heartbeat`, timeoutMs: ANNOUNCE_TIMEOUT_MS, intervalMs: 500 },
    );
    // Admission gives every new Node the not-ready taint; the node-lifecycle controller would lift it
    // once the node reports Ready, but it is not run (it would also taint the edge nodes that the
    // tests register without a kubelet). So the test kubelet sets the taints itself: exactly the
    // ones asked for.
    await core.patchNode({ name: node.name, body: { spec: { taints: spec?.taints ?? null } } }, mergePatch());
  };
  for (const node of opts.nodes) await registerNode(node);
  const heartbeatTimer = setInterval(() => {
    for (const node of opts.nodes) {
      heartbeat(node).catch((err: unknown) => {
        if (!stopping)
          kubeletLog(
            `node ${node.name}: heartbeat failed: ${err instanceof Error ? err.message : String(err)}`,
          );
      });
    }
  }, opts.heartbeatIntervalMs ?? 10_000);

  // --- pod sync ------------------------------------------------------------------------------
  const deletePod = async (pod: V1Pod): Promise<void> => {
    const { uid = '', name = '', namespace = '' } = pod.metadata ?? {};
    if (deleting.has(uid)) return;
    deleting.add(uid);
    try {
      await core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err: unknown) {
      if (isCode(err, 404) || isCode(err, 409)) return;
      deleting.delete(uid); // try again on the next sync
      kubeletLog(`pod ${namespace}/${name}: delete failed: ${String(err)}`);
    }
  };

  /** The real kubelet's part of deletion: stop the containers, then confirm with grace 0. */
  const syncDeleted = (pod: V1Pod, runner: PodRunner | undefined): void => {
    const grace = (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
    const stopped = runner ? runner.cancel(grace) : Promise.resolve();
    void stopped.then(() => deletePod(pod));
  };

  const syncPod = (node: TestNodeSpec, pod: V1Pod): void => {
    const uid = pod.metadata?.uid ?? '';
    const runner = runners.get(uid);
    if (pod.metadata?.deletionTimestamp) return syncDeleted(pod, runner);
    const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
    if (runner !== undefined || stopping || finished) return;
    runners.set(uid, new PodRunner(deps(node), pod));
  };

  const syncOnce = async (): Promise<void> => {
    const seen = new Set<string>();
    for (const node of opts.nodes) {
      const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node.name}` });
      for (const pod of list.items) {
        seen.add(pod.metadata?.uid ?? '');
        syncPod(node, pod);
      }
    }
    for (const [uid, runner] of runners) {
      if (seen.has(uid)) continue;
      // Gone from the apiserver (force-deleted): nothing to report, just stop it.
      runners.delete(uid);
      deleting.delete(uid);
      void runner.cancel(0);
    }
  };

  let syncLoop: Promise<void> = Promise.resolve();
  const loop = async (): Promise<void> => {
    while (!stopping) {
      try {
        await syncOnce();
      } catch (err: unknown) {
        if (!stopping) kubeletLog(`pod sync failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(opts.syncIntervalMs ?? 500);
    }
  };
  syncLoop = loop();

  return {
    workDir,
    logsDir,
    logPath: (namespace, pod, container) => join(logsDir, logFileName(namespace, pod, container)),
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      clearInterval(heartbeatTimer);
      await syncLoop;
      await Promise.all([...runners.values()].map((r) => r.cancel(0)));
      mountPoints.releaseAll();
      if (process.env.PENETRATOR_KEEP_CLUSTER === '1') {
        markKept(workDir);
        process.stderr.write(`PENETRATOR_KEEP_CLUSTER=1: test kubelet files kept in ${workDir}\n`);
      } else {
        rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
}
