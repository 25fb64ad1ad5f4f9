/**
 * A task as the API shows it, derived from what the cluster and Step Functions record: the task
 * object (assignment, label value, recorded spec), the task's install Jobs (attempts per node), the
 * Nodes carrying the task's label (installed), and the execution (running or not). Pure.
 */
import { TASK_NAMESPACE } from '../domain/contracts';
import {
  ATTEMPT_LABEL,
  NODE_HASH_LABEL,
  RUN_LABEL,
  executionName,
  nodeHash,
  runHash,
} from '../domain/job-names';
import type { ConfigMapObject, JobObject, LeaseObject } from '../domain/kube-types';
import { holderTask, leaseExpired, lockHolder } from '../domain/lock-lease';
import { TaskObjectKeys } from '../domain/task-object';
import { jobAttempt, jobPhase } from '../use-cases/job-status';
import type { ExecutionInfo } from '../ports';
import type { NodeDetail, NodeState, TaskDetail, TaskListItem } from './schemas';

export const TASK_OBJECT_PREFIX = 'penetrator-task-';

/** The execution as shown: Step Functions' view, or UNKNOWN for a run it never saw (a local run). */
export type ExecutionView = Omit<ExecutionInfo, 'status' | 'name'> & {
  status: ExecutionInfo['status'] | 'UNKNOWN';
};

export interface RecordedTask {
  name: string;
  labelValue: string;
  executionId: string;
  /** name → IP of every machine of the task. */
  assignment: Record<string, string>;
  /** The spec the task runs with (names only), as Prepare recorded it. */
  spec: Record<string, unknown>;
  maxAttempts: number;
  createdAt: string;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

/** The task a task object records; undefined for other ConfigMaps. */
export function recordedTask(object: ConfigMapObject): RecordedTask | undefined {
  const name = object.metadata.name;
  const data = object.data ?? {};
  if (!name.startsWith(TASK_OBJECT_PREFIX) || data[TaskObjectKeys.labelValue] === undefined) return undefined;
  const spec = parseJson(data[TaskObjectKeys.spec]);
  const specRecord =
    typeof spec === 'object' && spec !== null && !Array.isArray(spec)
      ? (spec as Record<string, unknown>)
      : {};
  const maxAttempts = typeof specRecord.maxAttempts === 'number' ? specRecord.maxAttempts : 1;
  return {
    name: name.slice(TASK_OBJECT_PREFIX.length),
    labelValue: data[TaskObjectKeys.labelValue] ?? '',
    executionId: data[TaskObjectKeys.executionId] ?? '',
    assignment: stringMap(parseJson(data[TaskObjectKeys.assignment])),
    spec: specRecord,
    maxAttempts,
    createdAt: object.metadata.creationTimestamp ?? '',
  };
}

/** Whether the run is still under way: Step Functions says so, or (for a run it never saw) the lock does. */
export function runIsLive(
  task: Pick<RecordedTask, 'name' | 'executionId'>,
  execution: ExecutionView,
  lease: LeaseObject | undefined,
  now: Date,
): boolean {
  if (execution.status !== 'UNKNOWN') return execution.status === 'RUNNING';
  if (lease === undefined || leaseExpired(lease, now)) return false;
  return lease.spec.holderIdentity === lockHolder(task.name, executionName(task.executionId));
}

/** The task named by a live lock, if any. */
export function lockHolderTask(lease: LeaseObject | undefined, now: Date): string | undefined {
  if (lease === undefined || leaseExpired(lease, now)) return undefined;
  return holderTask(lease.spec.holderIdentity ?? '') || '(unknown)';
}

export interface NodeFacts {
  name: string;
  ip: string;
  /** This run's Jobs for the node, newest attempt first. */
  jobs: JobObject[];
  /** The Node exists and carries the task's label. */
  labelled: boolean;
}

/** This run's Jobs of each node of the task, newest attempt first. */
export function jobsByNode(task: RecordedTask, jobs: readonly JobObject[]): Map<string, JobObject[]> {
  const run = runHash(task.executionId);
  const byHash = new Map<string, string>();
  for (const name of Object.keys(task.assignment)) byHash.set(nodeHash(name), name);
  const out = new Map<string, JobObject[]>();
  for (const job of jobs) {
    const labels = job.metadata.labels ?? {};
    if (job.metadata.namespace !== undefined && job.metadata.namespace !== TASK_NAMESPACE) continue;
    if (labels[RUN_LABEL] !== run || labels[ATTEMPT_LABEL] === undefined) continue;
    const node = byHash.get(labels[NODE_HASH_LABEL] ?? '');
    if (node !== undefined) out.set(node, [...(out.get(node) ?? []), job]);
  }
  for (const list of out.values()) list.sort((a, b) => jobAttempt(b) - jobAttempt(a));
  return out;
}

const NOT_REGISTERED = 'the install Job succeeded but the Node did not register with the task label';

/**
 * One node's state. A failed attempt of a live run with attempts left is `installing` (Step
 * Functions retries it after a backoff); once the run is over, anything not installed that was
 * tried is `failed`, and what was never tried stays `pending`.
 */
export function nodeState(
  facts: NodeFacts,
  live: boolean,
  maxAttempts: number,
): { state: NodeState; failedJob?: JobObject; reason?: string } {
  if (facts.labelled) return { state: 'installed' };
  const latest = facts.jobs[0];
  if (latest === undefined) return { state: 'pending' };
  const phase = jobPhase(latest);
  if (phase === 'Running') return { state: 'installing' };
  if (phase === 'Succeeded')
    return live ? { state: 'installing' } : { state: 'failed', reason: NOT_REGISTERED };
  if (live && facts.jobs.length < maxAttempts) return { state: 'installing', failedJob: latest };
  return { state: 'failed', failedJob: latest };
}

export interface TaskFacts {
  task: RecordedTask;
  jobs: readonly JobObject[];
  /** Names of the Nodes carrying the task's label value. */
  labelledNodes: ReadonlySet<string>;
  live: boolean;
}

export interface NodeView extends NodeDetail {
  /** The failed Job whose reason is worth reading (detail views look it up). */
  failedJob?: JobObject;
}

export function nodeViews(facts: TaskFacts): NodeView[] {
  const byNode = jobsByNode(facts.task, facts.jobs);
  return Object.entries(facts.task.assignment)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ip]) => {
      const jobs = byNode.get(name) ?? [];
      const judged = nodeState(
        { name, ip, jobs, labelled: facts.labelledNodes.has(name) },
        facts.live,
        facts.task.maxAttempts,
      );
      const view: NodeView = { name, ip, state: judged.state, attempts: jobs.length };
      if (judged.reason !== undefined) view.reason = judged.reason;
      if (judged.failedJob !== undefined) view.failedJob = judged.failedJob;
      return view;
    });
}

export function progressOf(nodes: readonly Pick<NodeDetail, 'state'>[]): TaskDetail['status']['progress'] {
  const installed = nodes.filter((n) => n.state === 'installed').length;
  const failed = nodes.filter((n) => n.state === 'failed').length;
  return { total: nodes.length, installed, failed, pending: nodes.length - installed - failed };
}

/** The original's status: ready once every machine is installed; name → IP of the others. */
export function originalStatus(
  nodes: readonly Pick<NodeDetail, 'name' | 'ip' | 'state'>[],
): Pick<TaskDetail['status'], 'nodetaskStatus' | 'nodeStatus'> {
  const nodeStatus: Record<string, string> = {};
  for (const n of nodes) if (n.state !== 'installed') nodeStatus[n.name] = n.ip;
  const ready = nodes.length > 0 && Object.keys(nodeStatus).length === 0;
  return { nodetaskStatus: ready ? 'ready' : 'creating', nodeStatus };
}

export function listItem(
  name: string,
  cluster: string,
  nodes: readonly Pick<NodeDetail, 'name' | 'ip' | 'state'>[],
  execution: ExecutionView,
): TaskListItem {
  const progress = progressOf(nodes);
  return {
    name,
    cluster,
    nodetaskStatus: originalStatus(nodes).nodetaskStatus,
    total: progress.total,
    installed: progress.installed,
    failed: progress.failed,
    executionArn: execution.arn,
    executionStatus: execution.status,
    startDate: execution.startDate,
  };
}
