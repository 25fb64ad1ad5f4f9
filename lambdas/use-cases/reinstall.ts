/**
 * A "Reinstall Nodes" event becomes a reinstall task: the machines are resolved in the cluster
 * (names → InternalIP, or a label selector), the proxy node is the event's or the one the nodes'
 * previous task used, and the resulting NodeTask is validated exactly as a submitted one before the
 * workflow is started. Nothing is started when any of that fails.
 */
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../domain/contracts';
import { taskObjectName } from '../domain/job-names';
import type { ConfigMapObject, NodeObject } from '../domain/kube-types';
import { nodeInternalIps } from '../domain/node-status';
import { TaskObjectKeys } from '../domain/task-object';
import { validateNodeTask } from '../domain/node-task';
import type { RandomSource } from '../domain/random';
import { InvalidNodeTaskError, ReinstallRefusedError } from '../errors';
import {
  eventSeededRandom,
  parseReinstallDetail,
  reinstallNodeTask,
  reinstallTaskName,
  type ReinstallRequest,
} from '../domain/reinstall-detail';
import type { Dependencies, Kube } from '../ports';
import { PayloadError, record } from './common';
import { startTask, type StartTaskDependencies } from './start-task';

export type ReinstallDependencies = Pick<Dependencies, 'kube' | 'log' | 'clock'> & {
  /** Step Functions in Lambda (adapters/sfn.ts); a local run of the definition in tests. */
  workflow: StartTaskDependencies['workflow'];
  random?: RandomSource;
};

export interface ReinstallOutput {
  task: string;
  cluster: string;
  executionName: string;
  /**
   * The started execution; absent when an execution of that name existed already: the same event
   * delivered again (its id fixes the names), so the reinstall is running or ran.
   */
  executionArn?: string;
  /** name → IP of every machine the task reinstalls. */
  machines: Record<string, string>;
  proxyNode: string;
}

/** The EventBridge event as the Lambda receives it (only the fields used here). */
export interface ReinstallEvent {
  id?: string;
  detail: unknown;
}

function parseEvent(payload: unknown): ReinstallEvent {
  const event = record(payload, 'event');
  if (event.id !== undefined && typeof event.id !== 'string')
    throw new PayloadError('event.id: expected a string');
  return { ...(typeof event.id === 'string' ? { id: event.id } : {}), detail: event.detail };
}

function firstInternalIp(node: NodeObject): string | undefined {
  return nodeInternalIps(node)[0];
}

/** The machines to reinstall, name → IP, and the Nodes they are now (for their previous task). */
async function resolveMachines(
  kube: () => Promise<Kube>,
  request: ReinstallRequest,
): Promise<{ machines: Record<string, string>; current: NodeObject[] }> {
  const { selection } = request;
  // Everything is given: no need to read the cluster (Plan checks the machines against it anyway).
  if (selection.kind === 'nodeNamesOverride' && request.proxyNode !== undefined) {
    return { machines: selection.nodeNamesOverride, current: [] };
  }
  if (selection.kind === 'labelSelector') {
    const found = await (
      await kube()
    ).list<NodeObject>({
      kind: 'Node',
      labelSelector: selection.labelSelector,
    });
    // The proxy node carries the machines' packages and runs their Jobs: it never reinstalls itself.
    const nodes = found.filter((n) => n.metadata.name !== request.proxyNode);
    if (nodes.length === 0) {
      throw new ReinstallRefusedError([
        `detail.labelSelector: no node of cluster ${request.cluster} matches ${JSON.stringify(selection.labelSelector)}`,
      ]);
    }
    return machinesOf(nodes, request.cluster);
  }
  const all = await (await kube()).list<NodeObject>({ kind: 'Node' });
  const byName = new Map(all.map((n) => [n.metadata.name, n]));
  if (selection.kind === 'nodeNamesOverride') {
    const current = all.filter(
      (n) =>
        selection.nodeNamesOverride[n.metadata.name] !== undefined ||
        nodeInternalIps(n).some((ip) => Object.values(selection.nodeNamesOverride).includes(ip)),
    );
    return { machines: selection.nodeNamesOverride, current };
  }
  const missing = selection.nodes.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new ReinstallRefusedError(
      missing.map((name) => `detail.nodes: node ${name} not found in cluster ${request.cluster}`),
    );
  }
  return machinesOf(
    selection.nodes.map((name) => byName.get(name)!),
    request.cluster,
  );
}

function machinesOf(
  nodes: NodeObject[],
  cluster: string,
): { machines: Record<string, string>; current: NodeObject[] } {
  const machines: Record<string, string> = {};
  const problems: string[] = [];
  for (const node of nodes) {
    const ip = firstInternalIp(node);
    if (ip === undefined)
      problems.push(`node ${node.metadata.name}: has no InternalIP address in cluster ${cluster}`);
    else machines[node.metadata.name] = ip;
  }
  if (problems.length > 0) throw new ReinstallRefusedError(problems);
  return { machines, current: nodes };
}

/** `<task>-<6>` → `<task>`: the task a node's label value names. */
function labelTask(labelValue: string): string | undefined {
  const match = /^(.+)-[a-z0-9]{6}$/.exec(labelValue);
  return match?.[1];
}

/** The proxy nodes recorded by the task objects of the tasks that installed these nodes. */
async function previousProxies(kube: Kube, nodes: readonly NodeObject[]): Promise<Set<string>> {
  const proxies = new Set<string>();
  const seen = new Set<string>();
  for (const node of nodes) {
    const value = node.metadata.labels?.[NODE_TASK_LABEL];
    const task = value === undefined ? undefined : labelTask(value);
    if (value === undefined || task === undefined || seen.has(value)) continue;
    seen.add(value);
    const object = await kube.get<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      name: taskObjectName(task),
    });
    // Another task of the same name may have replaced it since: only the one with this label counts.
    if (object?.data?.[TaskObjectKeys.labelValue] !== value) continue;
    for (const proxy of recordedProxies(object.data[TaskObjectKeys.spec])) proxies.add(proxy);
  }
  return proxies;
}

function recordedProxies(specText: string | undefined): string[] {
  try {
    const spec = JSON.parse(specText ?? '{}') as { proxyNodes?: unknown };
    return Array.isArray(spec.proxyNodes)
      ? spec.proxyNodes.filter((p): p is string => typeof p === 'string')
      : [];
  } catch {
    return [];
  }
}

async function decideProxy(
  kube: () => Promise<Kube>,
  request: ReinstallRequest,
  current: NodeObject[],
): Promise<string> {
  if (request.proxyNode !== undefined) return request.proxyNode;
  const proxies = [...(await previousProxies(await kube(), current))].sort();
  if (proxies.length === 1) return proxies[0]!;
  throw new ReinstallRefusedError([
    proxies.length === 0
      ? 'detail.proxyNode: missing, and no previous task of these nodes records a proxy node; name one'
      : `detail.proxyNode: missing, and the nodes' previous tasks used several proxy nodes (${proxies.join(', ')}); name one`,
  ]);
}

export async function reinstall(deps: ReinstallDependencies, payload: unknown): Promise<ReinstallOutput> {
  const event = parseEvent(payload);
  const request = parseReinstallDetail(event.detail);
  const kube = () => deps.kube(request.cluster);
  const { machines, current } = await resolveMachines(kube, request);
  const proxyNode = await decideProxy(kube, request, current);

  const random = event.id !== undefined ? eventSeededRandom(event.id) : deps.random;
  const name = request.taskName ?? reinstallTaskName(random);
  const nodeTask = reinstallNodeTask({
    name,
    cluster: request.cluster,
    sshCredential: request.sshCredential,
    proxyNode,
    machines,
  });
  // The same validation and start as every other door: an event cannot start what the API would refuse.
  const validation = validateNodeTask(nodeTask);
  if (!validation.ok) throw new InvalidNodeTaskError(validation.problems);

  const started = await startTask(deps, {
    task: validation.task,
    cluster: request.cluster,
    ...(random ? { random } : {}),
  });
  const { executionName } = started;
  const executionArn = started.outcome === 'started' ? started.executionArn : undefined;
  deps.log.info(executionArn ? 'reinstall started' : 'reinstall already started by this event', {
    task: name,
    cluster: request.cluster,
    nodes: Object.keys(machines).length,
    proxyNode,
    executionName,
  });
  return {
    task: name,
    cluster: request.cluster,
    executionName,
    ...(executionArn ? { executionArn } : {}),
    machines,
    proxyNode,
  };
}
