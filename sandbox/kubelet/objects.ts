/**
 * Pure builders for what the test kubelet writes to the apiserver: the Node, its heartbeat, and Pod
 * status. No I/O here, so the shapes can be read (and tested) by value.
 */
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Node,
  V1NodeCondition,
  V1PodCondition,
  V1PodStatus,
  V1Taint,
} from '@kubernetes/client-node';

export interface TestNodeSpec {
  name: string;
  /** Network namespace the node's pods run in (`ip netns exec`). Default: the host's. */
  netns?: string;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  addresses?: Array<{ type: string; address: string }>;
}

export const KUBELET_VERSION = 'v1.37.2';

/** The node's pod IP: its first InternalIP, as for host-network pods. */
export function nodeInternalIp(node: TestNodeSpec): string {
  return node.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1';
}

export function nodeLabels(node: TestNodeSpec): Record<string, string> {
  return {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    ...node.labels,
  };
}

export function nodeObject(node: TestNodeSpec): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: nodeLabels(node) },
    spec: node.taints && node.taints.length > 0 ? { taints: node.taints } : {},
  };
}

export function readyConditions(now: string, ready: boolean): V1NodeCondition[] {
  const ok = (type: string, reason: string, message: string): V1NodeCondition => ({
    type,
    status: 'False',
    reason,
    message,
    lastHeartbeatTime: now as unknown as Date,
    lastTransitionTime: now as unknown as Date,
  });
  return [
    ok('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    ok('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    ok('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'KubeletReady' : 'KubeletNotReady',
      message: ready ? 'test kubelet is posting ready status' : 'test kubelet stopped',
      lastHeartbeatTime: now as unknown as Date,
      lastTransitionTime: now as unknown as Date,
    },
  ];
}

/** The status subresource body for a Node (sent as a merge patch, so times stay strings). */
export function nodeStatusPatch(
  node: TestNodeSpec,
  now: string,
  ready: boolean,
): { status: Record<string, unknown> } {
  const resources = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' };
  return {
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: readyConditions(now, ready),
      addresses: [
        ...(node.addresses ?? [{ type: 'InternalIP', address: nodeInternalIp(node) }]),
        { type: 'Hostname', address: node.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'penetrator test kubelet',
        containerRuntimeVersion: 'test://0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** RFC 3339 with microseconds, the only form a MicroTime (Lease renewTime) accepts. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Seconds precision, the form of metav1.Time. */
export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------------
// Pod status

export type ContainerPhase =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | {
      kind: 'terminated';
      exitCode: number;
      reason: string;
      message?: string;
      startedAt: string;
      finishedAt: string;
    };

export interface ContainerReport {
  name: string;
  image: string;
  containerID: string;
  phase: ContainerPhase;
}

export interface PodReport {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  startTime: string;
  hostIP: string;
  podIP: string;
  init: ContainerReport[];
  main: ContainerReport[];
  /** When the pod could not start at all (e.g. a volume failed). */
  reason?: string;
  message?: string;
}

function containerState(phase: ContainerPhase, containerID: string): V1ContainerState {
  switch (phase.kind) {
    case 'waiting':
      return { waiting: { reason: phase.reason, message: phase.message } };
    case 'running':
      return { running: { startedAt: phase.startedAt as unknown as Date } };
    case 'terminated':
      return {
        terminated: {
          exitCode: phase.exitCode,
          reason: phase.reason,
          message: phase.message,
          startedAt: phase.startedAt as unknown as Date,
          finishedAt: phase.finishedAt as unknown as Date,
          containerID,
        },
      };
  }
}

function containerStatus(c: ContainerReport): V1ContainerStatus {
  const running = c.phase.kind === 'running';
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    containerID: c.containerID,
    ready: running,
    started: running,
    restartCount: 0,
    state: containerState(c.phase, c.containerID),
  };
}

function condition(type: string, ok: boolean, now: string, reason?: string): V1PodCondition {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: now as unknown as Date,
    ...(ok || reason === undefined ? {} : { reason }),
  };
}

export function podStatus(report: PodReport, now: string): V1PodStatus {
  const finished = report.phase === 'Succeeded' || report.phase === 'Failed';
  const initialized = report.init.every((c) => c.phase.kind === 'terminated' && c.phase.exitCode === 0);
  const allRunning = report.main.length > 0 && report.main.every((c) => c.phase.kind === 'running');
  const notReadyReason = finished ? 'PodCompleted' : 'ContainersNotReady';
  return {
    phase: report.phase,
    ...(report.reason !== undefined ? { reason: report.reason } : {}),
    ...(report.message !== undefined ? { message: report.message } : {}),
    startTime: report.startTime as unknown as Date,
    hostIP: report.hostIP,
    hostIPs: [{ ip: report.hostIP }],
    podIP: report.podIP,
    podIPs: [{ ip: report.podIP }],
    qosClass: 'BestEffort',
    conditions: [
      condition('PodReadyToStartContainers', !finished, now),
      condition('Initialized', initialized, now, 'ContainersNotInitialized'),
      condition('ContainersReady', allRunning, now, notReadyReason),
      condition('Ready', allRunning, now, notReadyReason),
      condition('PodScheduled', true, now),
    ],
    initContainerStatuses: report.init.map(containerStatus),
    containerStatuses: report.main.map(containerStatus),
  };
}
