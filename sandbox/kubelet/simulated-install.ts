/**
 * The test kubelet's simulated install mode, for the benchmark: an install Pod (one whose container
 * names the node to join) does not run its command. It takes the configured number of seconds, then
 * registers its Node as the stand-in join does (the same labels, InternalIP and Ready status) and
 * exits 0; a configured fraction of the Pods fails instead, without registering anything. No sshd
 * machine is needed, so thousands of installs fit on one host.
 */
import { createHash } from 'node:crypto';
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { InstallEnv } from '../../lambdas/domain/contracts';
import { nodeLabels, nodeStatus } from '../edge/node-registration';

export interface SimulatedInstallOptions {
  /** How long one install takes. */
  seconds: number;
  /** Fraction of install Pods that fail (0 ≤ f ≤ 1), chosen by a hash of the Pod's name. */
  failureRate?: number;
}

export interface SimulatedOutcome {
  exitCode: number;
  message: string;
}

/** The container's target, when it is an install container. */
export function installTarget(env: Map<string, string>): { name: string; ip: string } | undefined {
  const name = env.get(InstallEnv.nodeName);
  const ip = env.get(InstallEnv.targetIp);
  return name && ip ? { name, ip } : undefined;
}

/**
 * Whether this Pod fails: a stable function of its name, so a rerun fails the same Pods, while a
 * retried attempt (a new Job, a new Pod name) draws again, as a flaky machine would.
 */
export function failsByName(podName: string, failureRate: number): boolean {
  if (failureRate <= 0) return false;
  const draw = createHash('sha256').update(podName).digest().readUInt32BE(0) / 0x1_0000_0000;
  return draw < failureRate;
}

const strategicMerge = (): ReturnType<typeof setHeaderOptions> =>
  setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** What a join leaves in the cluster: the Node, registered (or adopted) and Ready. */
export async function registerJoinedNode(core: CoreV1Api, target: { name: string; ip: string }): Promise<void> {
  const identity = { name: target.name, arch: 'amd64', internalIp: target.ip };
  try {
    await core.createNode({ body: { metadata: { name: target.name, labels: nodeLabels(identity) } } });
  } catch (err: unknown) {
    if ((err as { code?: number }).code !== 409) throw err;
    await core.patchNode(
      { name: target.name, body: { metadata: { labels: nodeLabels(identity) } } },
      strategicMerge(),
    );
  }
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await core.patchNodeStatus(
    { name: target.name, body: { status: nodeStatus(identity, now) } },
    strategicMerge(),
  );
}

/** Waits the install time (or until cancelled), then joins or fails. */
export async function simulateInstall(
  core: CoreV1Api,
  options: SimulatedInstallOptions,
  podName: string,
  target: { name: string; ip: string },
  cancelled: AbortSignal,
): Promise<SimulatedOutcome> {
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(true), options.seconds * 1000);
    cancelled.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!finished) return { exitCode: 137, message: 'simulated install stopped: the Pod was deleted' };
  if (failsByName(podName, options.failureRate ?? 0)) {
    return { exitCode: 1, message: `simulated install of ${target.name} (${target.ip}) failed` };
  }
  await registerJoinedNode(core, target);
  return { exitCode: 0, message: '' };
}
