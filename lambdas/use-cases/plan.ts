/**
 * Plan task: validates the NodeTask, resolves its cluster, checks proxy nodes and credential, and
 * decides which machine joins under which name, through which proxy, and whether an old Node must go
 * first. Read-only: nothing is created in the cluster.
 */
import { knownHostsName, targetsWithoutKnownKey } from '../domain/direct-known-hosts';
import type { NodeWork, PlanInput, PlanOutput, TaskRef } from '../domain/contracts';
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../domain/contracts';
import { taskObjectName } from '../domain/job-names';
import {
  TaskObjectKeys,
  nodeInternalIps,
  nodeReady,
  specDigest,
  type ConfigMapObject,
  type NodeObject,
} from '../domain/k8s-objects';
import { assignNodeNames, taskLabelValue } from '../domain/names';
import { validateNodeTask, type NodeTask, type Target } from '../domain/node-task';
import { resolveSpec, type ResolvedSpec } from '../domain/spec-defaults';
import {
  ClusterNotFoundError,
  InvalidNodeTaskError,
  ProxyNodeNotReadyError,
  TaskConflictError,
} from '../errors';
import type { Dependencies } from '../ports';
import { PayloadError, record } from './common';

export function parsePlanInput(payload: unknown): PlanInput {
  const body = record(payload, 'payload');
  const input = record(body.input, 'payload.input');
  if (typeof body.executionId !== 'string' || body.executionId === '') {
    throw new PayloadError('payload.executionId: expected the execution id');
  }
  if (input.cluster !== undefined && typeof input.cluster !== 'string') {
    throw new PayloadError('payload.input.cluster: expected a cluster name');
  }
  return {
    input: { nodeTask: input.nodeTask, ...(input.cluster ? { cluster: input.cluster } : {}) },
    executionId: body.executionId,
  };
}

/** input.cluster, else spec.cluster, else the deployment's default, else the only registered cluster. */
async function resolveCluster(deps: Dependencies, requested: string | undefined): Promise<string> {
  const named = requested ?? deps.settings.defaultCluster;
  if (named !== undefined) {
    // Reading the kubeconfig proves the cluster is registered (ClusterNotFoundError otherwise).
    await deps.clusters.kubeconfig(named);
    return named;
  }
  const names = await deps.clusters.list();
  if (names.length === 1) return names[0]!;
  throw new ClusterNotFoundError(
    names.length === 0
      ? 'no cluster is registered; register one, then submit the task again'
      : `several clusters are registered (${names.join(', ')}); name one in the input's cluster or in spec.cluster`,
  );
}

function checkProxyNodes(spec: ResolvedSpec, nodes: ReadonlyMap<string, NodeObject>, cluster: string): void {
  const absent = spec.proxyNodes.filter((name) => !nodes.has(name));
  const notReady = spec.proxyNodes.filter((name) => nodes.has(name) && !nodeReady(nodes.get(name)!));
  if (absent.length === 0 && notReady.length === 0) return;
  const parts = [
    ...(absent.length > 0 ? [`${absent.join(', ')} not found`] : []),
    ...(notReady.length > 0 ? [`${notReady.join(', ')} not Ready`] : []),
  ];
  throw new ProxyNodeNotReadyError(
    `cluster ${cluster}: proxy node ${parts.join('; ')}; the install Jobs need a Ready proxy node`,
  );
}

/** What a previous run of the same task recorded: its label value and name → IP assignment. */
interface PreviousRun {
  labelValue: string;
  namesByIp: Map<string, string>;
}

function previousRun(
  object: ConfigMapObject | undefined,
  digest: string,
  taskName: string,
): PreviousRun | undefined {
  if (object === undefined) return undefined;
  const data = object.data ?? {};
  if (data[TaskObjectKeys.specDigest] !== digest) {
    throw new TaskConflictError(
      `task ${taskName} already exists with a different spec; a task cannot be updated: delete it ` +
        `(ConfigMap ${TASK_NAMESPACE}/${taskObjectName(taskName)}) or use a new name`,
    );
  }
  const namesByIp = new Map<string, string>();
  try {
    const assignment = JSON.parse(data[TaskObjectKeys.assignment] ?? '{}') as Record<string, unknown>;
    for (const [name, ip] of Object.entries(assignment)) if (typeof ip === 'string') namesByIp.set(ip, name);
  } catch {
    // An unreadable assignment only costs fresh names.
  }
  const labelValue = data[TaskObjectKeys.labelValue];
  return labelValue ? { labelValue, namesByIp } : undefined;
}

interface NodeIndex {
  byName: Map<string, NodeObject>;
  byIp: Map<string, NodeObject[]>;
}

function indexNodes(nodes: readonly NodeObject[]): NodeIndex {
  const byName = new Map<string, NodeObject>();
  const byIp = new Map<string, NodeObject[]>();
  for (const node of nodes) {
    byName.set(node.metadata.name, node);
    for (const ip of nodeInternalIps(node)) byIp.set(ip, [...(byIp.get(ip) ?? []), node]);
  }
  return { byName, byIp };
}

export interface WorkList {
  nodes: NodeWork[];
  skipped: Array<{ name: string; ip: string }>;
}

/**
 * Splits the assignment into work and skipped machines. A Node that already carries this task's
 * label is done. Any other Node under the same name or address is an older install: it is deleted
 * before the machine joins again (reinstall). Proxy nodes are dealt out round-robin.
 */
export function buildWorkList(
  assignment: ReadonlyArray<{ name: string; ip: string }>,
  index: NodeIndex,
  labelValue: string,
  proxyNodes: readonly string[],
): WorkList {
  const nodes: NodeWork[] = [];
  const skipped: WorkList['skipped'] = [];
  for (const { name, ip } of assignment) {
    const sameName = index.byName.get(name);
    if (sameName?.metadata.labels?.[NODE_TASK_LABEL] === labelValue) {
      skipped.push({ name, ip });
      continue;
    }
    const sameIp = index.byIp.get(ip) ?? [];
    const proxyNode = proxyNodes.length === 0 ? '' : proxyNodes[nodes.length % proxyNodes.length]!;
    nodes.push({ name, ip, proxyNode, reinstall: sameName !== undefined || sameIp.length > 0 });
  }
  return { nodes, skipped };
}

function taskRef(
  task: NodeTask,
  spec: ResolvedSpec,
  cluster: string,
  labelValue: string,
  executionId: string,
): TaskRef {
  const ref: TaskRef = {
    name: task.metadata.name,
    cluster,
    labelValue,
    mode: spec.mode,
    installer: spec.installer,
    credential: spec.credential,
    sshUser: spec.sshUser,
    sshPort: spec.sshPort,
    executionId,
    maxAttempts: spec.maxAttempts,
    attemptTimeoutSeconds: spec.attemptTimeoutSeconds,
    pollSeconds: spec.pollSeconds,
    specDigest: specDigest(task.spec),
  };
  if (spec.knownHosts !== undefined) ref.knownHosts = spec.knownHosts;
  return ref;
}

export async function plan(deps: Dependencies, payload: unknown): Promise<PlanOutput> {
  const { input, executionId } = parsePlanInput(payload);
  const validation = validateNodeTask(input.nodeTask);
  if (!validation.ok) throw new InvalidNodeTaskError(validation.problems);
  const { task, targets } = validation;
  const spec = resolveSpec(task);

  const cluster = await resolveCluster(deps, input.cluster ?? spec.cluster);
  // Checked before touching the cluster, and the value dropped at once: Plan only proves it exists.
  const credential = await deps.credentials.get(spec.credential);
  if (deps.settings.requireKnownHosts) {
    const knownHosts = [credential.knownHosts, spec.knownHosts].filter(Boolean).join('\n');
    const unknown = targetsWithoutKnownKey(
      knownHosts,
      targets.map((t) => t.ip),
      spec.sshPort,
    );
    if (unknown.length > 0) {
      throw new InvalidNodeTaskError(
        unknown
          .slice(0, 20)
          .map(
            (ip) =>
              `spec.knownHosts: no host key for ${knownHostsName(ip, spec.sshPort)} in it or in credential ${spec.credential}; ` +
              'this deployment trusts no host key on first use (requireKnownHosts)',
          ),
      );
    }
  }

  const kube = await deps.kube(cluster);
  const index = indexNodes(await kube.list<NodeObject>({ kind: 'Node' }));
  checkProxyNodes(spec, index.byName, cluster);

  const digest = specDigest(task.spec);
  const existing = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(task.metadata.name),
  });
  const previous = previousRun(existing, digest, task.metadata.name);
  const labelValue = previous?.labelValue ?? taskLabelValue(task.metadata.name, deps.random);

  // A re-submitted task keeps the names it gave before, so its Nodes are recognised as its own.
  const named: Target[] = targets.map((t) => {
    const earlier = t.name ?? previous?.namesByIp.get(t.ip);
    return earlier === undefined ? { ip: t.ip } : { ip: t.ip, name: earlier };
  });
  const assignment = assignNodeNames(
    named,
    task.spec.nodeNamePrefix ?? '',
    new Set(index.byName.keys()),
    deps.random,
  );
  const work = buildWorkList(assignment, index, labelValue, spec.proxyNodes);

  deps.log.info('planned', {
    cluster,
    nodes: work.nodes.length,
    skipped: work.skipped.length,
    reused: previous !== undefined,
  });
  return {
    task: taskRef(task, spec, cluster, labelValue, executionId),
    nodes: work.nodes,
    skipped: work.skipped,
    maxConcurrency: spec.maxConcurrency,
  };
}
