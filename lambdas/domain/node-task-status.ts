/**
 * The NodeTask custom resource as the task object: the object a run adopts (applied with kubectl)
 * or creates (submitted through the API), and the status the workflow keeps current in it. Pure:
 * use-cases/node-task-object.ts sends these through the Kube port.
 *
 * Status writes are JSON merge patches of maps keyed by node name (`nodes`, `nodeStatus`), so the
 * Map's iterations write their own node at the same time without conflicting; the counts are
 * derived from `nodes` and written with the object's resourceVersion, so the last writer's are right.
 */
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL } from './job-names';
import type { NodeResult, TaskRef } from './contracts';
import type { KubeObject, OwnerReference } from './kube-types';
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from './node-task-kind';
import { NodeTaskStatuses } from './node-task-crd';
import { MAX_REASON_LENGTH } from './summary';

/** The digest of the spec a run was started with: a NodeTask whose spec has another is another task. */
export const SPEC_DIGEST_ANNOTATION = 'penetrator.superedge.io/spec-digest';

export type NodeState = 'pending' | 'installing' | 'installed' | 'failed';

export interface NodeDetail {
  ip: string;
  state: NodeState;
  /** Attempts started in the current run. */
  attempts?: number;
  /** Why the last attempt failed (one line, bounded). */
  reason?: string;
}

export interface NodeTaskCondition {
  type: 'Running' | 'Ready';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface NodeTaskStatus {
  nodetaskStatus?: (typeof NodeTaskStatuses)[keyof typeof NodeTaskStatuses];
  nodeStatus?: Record<string, string>;
  labelValue?: string;
  execution?: string;
  installed?: number;
  failed?: number;
  total?: number;
  nodes?: Record<string, NodeDetail>;
  conditions?: NodeTaskCondition[];
  /** Seconds the last finished install took: the first wait of the next ones (domain/install-wait.ts). */
  installSeconds?: number;
}

export interface NodeTaskObject extends KubeObject {
  kind: typeof NODE_TASK_KIND;
  spec?: Record<string, unknown>;
  status?: NodeTaskStatus;
}

/** Owned by the NodeTask: deleting it lets the garbage collector delete the object. */
export function nodeTaskOwnerReference(nodeTask: NodeTaskObject): OwnerReference {
  return {
    apiVersion: NODE_TASK_API_VERSION,
    kind: NODE_TASK_KIND,
    name: nodeTask.metadata.name,
    uid: nodeTask.metadata.uid ?? '',
    controller: false,
    blockOwnerDeletion: true,
  };
}

/**
 * The NodeTask of a run started through the API, where nobody applied one: the machines under
 * the names this run gives them (nodeNamesOverride, as the original accepts it), so applying it
 * again reinstalls the same machines under the same names.
 */
export function nodeTaskForRun(
  task: TaskRef,
  assignment: Record<string, string>,
  proxyNodes: readonly string[],
): NodeTaskObject {
  const spec: Record<string, unknown> = {
    nodeNamesOverride: { ...assignment },
    sshCredential: task.credential,
    sshPort: task.sshPort,
  };
  if (proxyNodes.length === 1) spec.proxyNode = proxyNodes[0];
  if (task.mode !== 'proxy') spec.mode = task.mode;
  return {
    apiVersion: NODE_TASK_API_VERSION,
    kind: NODE_TASK_KIND,
    metadata: {
      name: task.name,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_LABEL]: task.name },
      annotations: { [SPEC_DIGEST_ANNOTATION]: task.specDigest ?? '' },
    },
    spec,
  };
}

function cut(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length > MAX_REASON_LENGTH ? `${chars.slice(0, MAX_REASON_LENGTH - 1).join('')}…` : line;
}

/** Keys the previous status had and the new one drops, set to null: a merge patch removes them. */
function withRemovals<T>(
  next: Record<string, T>,
  previous: Record<string, unknown> | undefined,
): Record<string, T | null> {
  const out: Record<string, T | null> = { ...next };
  for (const key of Object.keys(previous ?? {})) if (!(key in next)) out[key] = null;
  return out;
}

function counts(nodes: Record<string, NodeDetail>): Pick<NodeTaskStatus, 'installed' | 'failed' | 'total'> {
  const details = Object.values(nodes);
  return {
    installed: details.filter((d) => d.state === 'installed').length,
    failed: details.filter((d) => d.state === 'failed').length,
    total: details.length,
  };
}

/** The counts a status's `nodes` map implies (after the Map's iterations patched their own node). */
export function countsOf(
  status: NodeTaskStatus | undefined,
): Pick<NodeTaskStatus, 'installed' | 'failed' | 'total'> {
  return counts(status?.nodes ?? {});
}

function conditions(running: boolean, failed: number, remaining: number, at: string): NodeTaskCondition[] {
  return [
    {
      type: 'Running',
      status: running ? 'True' : 'False',
      reason: running ? 'Installing' : 'Finished',
      message: running ? 'the workflow is installing the machines' : 'the workflow has ended',
      lastTransitionTime: at,
    },
    {
      type: 'Ready',
      status: remaining === 0 ? 'True' : 'False',
      reason: remaining === 0 ? 'AllInstalled' : failed > 0 ? 'NodesFailed' : 'Installing',
      message: remaining === 0 ? 'every machine is installed' : `${remaining} machine(s) not installed yet`,
      lastTransitionTime: at,
    },
  ];
}

export interface StartedStatusInput {
  task: Pick<TaskRef, 'labelValue' | 'executionId'>;
  nodes: ReadonlyArray<{ name: string; ip: string }>;
  /** Already installed with this task's label: nothing to do for them. */
  skipped: ReadonlyArray<{ name: string; ip: string }>;
  previous?: NodeTaskStatus;
  now: Date;
}

/** The status when a run starts (Prepare): every machine pending but those already installed. */
export function startedStatus(input: StartedStatusInput): Record<string, unknown> {
  const nodes: Record<string, NodeDetail> = {};
  for (const n of input.skipped) nodes[n.name] = { ip: n.ip, state: 'installed' };
  for (const n of input.nodes) nodes[n.name] = { ip: n.ip, state: 'pending' };
  const nodeStatus = Object.fromEntries(input.nodes.map((n) => [n.name, n.ip]));
  const at = input.now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    nodetaskStatus: input.nodes.length === 0 ? NodeTaskStatuses.ready : NodeTaskStatuses.creating,
    nodeStatus: withRemovals(nodeStatus, input.previous?.nodeStatus),
    labelValue: input.task.labelValue,
    execution: input.task.executionId,
    ...counts(nodes),
    // A whole entry is replaced: the attempts and reason of a previous run do not carry over.
    nodes: withRemovals(
      Object.fromEntries(Object.entries(nodes).map(([k, v]) => [k, { attempts: null, reason: null, ...v }])),
      input.previous?.nodes,
    ),
    conditions: conditions(input.nodes.length > 0, 0, input.nodes.length, at),
  };
}

/** One node's progress, as its own iteration writes it; installed nodes leave nodeStatus. */
export function nodeProgress(name: string, detail: NodeDetail): Record<string, unknown> {
  const entry: Record<string, unknown> = { ip: detail.ip, state: detail.state };
  entry.attempts = detail.attempts ?? null;
  entry.reason = detail.reason === undefined ? null : cut(detail.reason);
  return {
    nodes: { [name]: entry },
    nodeStatus: { [name]: detail.state === 'installed' ? null : detail.ip },
  };
}

export interface FinishedStatusInput {
  results: readonly NodeResult[];
  skipped: ReadonlyArray<{ name: string; ip: string }>;
  /** Reason per failed node, as the summary words it. */
  reasons: ReadonlyMap<string, string>;
  previous?: NodeTaskStatus;
  now: Date;
}

function finishedEntry(result: NodeResult, input: FinishedStatusInput): Record<string, unknown> {
  const attempts = input.previous?.nodes?.[result.name]?.attempts;
  const entry: Record<string, unknown> = { ip: result.ip, state: result.state };
  if (attempts !== undefined) entry.attempts = attempts;
  entry.reason = result.state === 'failed' ? cut(input.reasons.get(result.name) ?? 'not installed') : null;
  return entry;
}

/** The status when the run ends (Summarize): the outcome of every node, in the original's shape too. */
export function finishedStatus(input: FinishedStatusInput): Record<string, unknown> {
  const nodes: Record<string, Record<string, unknown>> = {};
  for (const n of input.skipped) nodes[n.name] = { ip: n.ip, state: 'installed' };
  for (const r of input.results) nodes[r.name] = finishedEntry(r, input);
  const remaining = Object.fromEntries(
    input.results.filter((r) => r.state !== 'installed').map((r) => [r.name, r.ip]),
  );
  const tally = counts(nodes as unknown as Record<string, NodeDetail>);
  const at = input.now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    nodetaskStatus: Object.keys(remaining).length === 0 ? NodeTaskStatuses.ready : NodeTaskStatuses.creating,
    nodeStatus: withRemovals(remaining, input.previous?.nodeStatus),
    ...tally,
    nodes: withRemovals(nodes, input.previous?.nodes),
    conditions: conditions(false, tally.failed ?? 0, Object.keys(remaining).length, at),
  };
}
