/**
 * Plan task: validates the NodeTask, resolves its cluster, checks proxy nodes and credential, and
 * decides which machine joins under which name, through which proxy, and which old Nodes it replaces.
 * Targets the task does not own are refused here, all at once. Read-only: nothing is created or
 * deleted in the cluster.
 */
import { knownHostsName, targetsWithoutKnownKey } from '../direct/known-hosts';
import { outOfBounds } from './credential-bounds';
import type { NodeWork, PlanInput, PlanOutput, TaskRef } from '../domain/contracts';
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../domain/contracts';
import { isIP } from 'node:net';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, taskObjectName } from '../domain/job-names';
import type { ConfigMapObject, JobObject, NodeObject } from '../domain/kube-types';
import { nodeReady } from '../domain/node-status';
import { specDigest } from '../domain/spec-digest';
import { TaskObjectKeys } from '../domain/task-object';
import { assignNodeNames, taskLabelValue } from '../domain/names';
import { formatPath, normaliseIp, validateNodeTask, type NodeTask, type Target } from '../domain/node-task';
import {
  busyMachineOf,
  judgeTargets,
  type BusyMachine,
  type OwnershipInput,
  type PlannedTarget,
} from '../domain/ownership';
import { resolveSpec, type ResolvedSpec } from '../domain/spec-defaults';
import {
  ClusterNotFoundError,
  InvalidNodeTaskError,
  ProxyNodeNotReadyError,
  TargetRefusedError,
  TaskConflictError,
} from '../errors';
import type { Dependencies, Kube } from '../ports';
import { PayloadError, record } from './common';
import { jobPhase } from './job-status';
import { writeWork } from './work-store';

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

export interface WorkList {
  nodes: NodeWork[];
  skipped: Array<{ name: string; ip: string }>;
  /** `<field path>: <reason>` for every target the task may not touch. */
  problems: string[];
}

/** The field path that named each machine, for messages: an override entry or a targetMachines item. */
export function targetPaths(
  task: NodeTask,
  assignment: ReadonlyArray<{ name: string; ip: string }>,
): PlannedTarget[] {
  const machines = (task.spec.targetMachines ?? []).map((ip) => (isIP(ip) ? normaliseIp(ip) : ip));
  const overrideIps = new Map(
    Object.entries(task.spec.nodeNamesOverride ?? {}).map(([name, ip]) => [normaliseIp(ip), name]),
  );
  return assignment.map(({ name, ip }) => {
    const overridden = overrideIps.get(ip);
    const path =
      overridden !== undefined
        ? formatPath(['spec', 'nodeNamesOverride', overridden])
        : formatPath(['spec', 'targetMachines', Math.max(0, machines.indexOf(ip))]);
    return { name, ip, path };
  });
}

/**
 * Splits the targets into work and skipped machines, and refuses those the task does not own
 * (domain/ownership.ts). A Node that already carries this task's label is done. Proxy nodes are
 * dealt out round-robin.
 */
export function buildWorkList(
  targets: readonly PlannedTarget[],
  ownership: OwnershipInput,
  labelValue: string,
): WorkList {
  const byName = new Map(ownership.nodes.map((n) => [n.metadata.name, n]));
  const pending = targets.filter(
    (t) => byName.get(t.name)?.metadata.labels?.[NODE_TASK_LABEL] !== labelValue,
  );
  const skipped = targets.filter((t) => !pending.includes(t)).map(({ name, ip }) => ({ name, ip }));
  const { judgements, problems } = judgeTargets(pending, ownership);
  const proxies = ownership.site.proxyNodes;
  const nodes: NodeWork[] = [];
  pending.forEach(({ name, ip }, i) => {
    const judgement = judgements[i]!;
    if ('refused' in judgement) return;
    const proxyNode = proxies.length === 0 ? '' : proxies[nodes.length % proxies.length]!;
    const { replaces, sameName } = judgement;
    nodes.push({
      name,
      ip,
      proxyNode,
      reinstall: sameName || replaces.length > 0,
      ...(replaces.length > 0 ? { replaces } : {}),
    });
  });
  return { nodes, skipped, problems };
}

/** Running install Jobs: another task's may not be joined by a second install on the same machine. */
async function busyMachines(kube: Kube): Promise<BusyMachine[]> {
  const jobs = await kube.list<JobObject>({
    kind: 'Job',
    namespace: TASK_NAMESPACE,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
  });
  return jobs.filter((j) => jobPhase(j) === 'Running').flatMap((j) => busyMachineOf(j) ?? []);
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
  // The credential's and the cluster's bounds, from tags: a task outside them never reads the value.
  const outside = await outOfBounds(deps, task, cluster);
  if (outside.length > 0) throw new InvalidNodeTaskError(outside);
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
  const allNodes = await kube.list<NodeObject>({ kind: 'Node' });
  const byName = new Map(allNodes.map((n) => [n.metadata.name, n]));
  checkProxyNodes(spec, byName, cluster);

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
    new Set(byName.keys()),
    deps.random,
  );
  const work = buildWorkList(
    targetPaths(task, assignment),
    {
      taskName: task.metadata.name,
      site: { mode: spec.mode, proxyNodes: spec.proxyNodes },
      nodes: allNodes,
      busy: await busyMachines(kube),
      replaceNodes: new Set(spec.replaceNodes),
    },
    labelValue,
  );
  // Nothing has been created or deleted yet: a refused target refuses the whole task, every reason listed.
  if (work.problems.length > 0) throw new TargetRefusedError(work.problems);

  deps.log.info('planned', {
    cluster,
    nodes: work.nodes.length,
    skipped: work.skipped.length,
    reused: previous !== undefined,
  });
  // The lists go to the object store: the state carries their keys and counts only (ADR 0019).
  return {
    task: taskRef(task, spec, cluster, labelValue, executionId),
    work: await writeWork(deps, executionId, work.nodes, work.skipped),
    maxConcurrency: spec.maxConcurrency,
  };
}
