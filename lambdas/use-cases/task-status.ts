/**
 * GET /tasks, GET /tasks/{name}, GET /tasks/{name}/events: what the cluster and Step Functions
 * record about tasks, merged (task-view.ts decides each node's state). Read-only.
 */
import { TaskNotFoundError } from '../errors';
import { LOCK_LEASE_NAME, NODE_TASK_LABEL, TASK_NAMESPACE } from '../domain/contracts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL, taskObjectName } from '../domain/job-names';
import type { ConfigMapObject, JobObject, LeaseObject, NodeObject } from '../domain/kube-types';
import type { EventObject } from '../domain/task-events';
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from '../domain/node-task-kind';
import type { ApiDependencies, ExecutionDetail, ExecutionInfo, Kube } from '../ports';
import { forEachLimited, now } from './common';
import { failureReason } from './job-status';
import { executionPrefix, taskOfExecution } from '../domain/execution-names';
import type { EventList, NodeDetail, TaskDetail, TaskList, TaskListItem } from '../api/schemas';
import {
  listItem,
  nodeViews,
  originalStatus,
  progressOf,
  recordedTask,
  runIsLive,
  type ExecutionView,
  type RecordedTask,
} from '../api/task-view';
import { resolveCluster } from './cluster-choice';
import { checkTaskName } from './task-name';

/** Failure reasons looked up at once (each reads the Job's Pods). */
const REASON_CONCURRENCY = 8;
/** Executions described one by one for a task list; the others show as UNKNOWN. */
const MAX_DESCRIBES = 20;

function view(execution: ExecutionInfo | ExecutionDetail): ExecutionView {
  const out: ExecutionView = { arn: execution.arn, status: execution.status, startDate: execution.startDate };
  if (execution.stopDate !== undefined) out.stopDate = execution.stopDate;
  return out;
}

function unknownExecution(task: RecordedTask): ExecutionView {
  return { arn: task.executionId, status: 'UNKNOWN', startDate: task.createdAt };
}

async function getLease(kube: Kube): Promise<LeaseObject | undefined> {
  return kube.get<LeaseObject>({ kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME });
}

async function getRecorded(kube: Kube, name: string): Promise<RecordedTask | undefined> {
  const object = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(name),
  });
  return object === undefined ? undefined : recordedTask(object);
}

/** The execution a task is about: a running one, else the one its task object records, else the newest. */
async function currentExecution(
  deps: ApiDependencies,
  executions: readonly ExecutionInfo[],
  recorded: RecordedTask | undefined,
): Promise<ExecutionDetail | undefined> {
  const running = executions.find((e) => e.status === 'RUNNING');
  const arn = running?.arn ?? recorded?.executionId ?? executions[0]?.arn;
  if (arn === undefined || arn === '') return undefined;
  return deps.workflow.describe(arn);
}

function submittedSpec(detail: ExecutionDetail | undefined): Record<string, unknown> | undefined {
  const nodeTask = (detail?.input as { nodeTask?: { spec?: unknown } } | undefined)?.nodeTask;
  const spec = nodeTask?.spec;
  return typeof spec === 'object' && spec !== null && !Array.isArray(spec)
    ? (spec as Record<string, unknown>)
    : undefined;
}

async function nodesOf(
  deps: ApiDependencies,
  kube: Kube,
  task: RecordedTask,
  execution: ExecutionView,
): Promise<NodeDetail[]> {
  const [jobs, labelled, lease] = await Promise.all([
    kube.list<JobObject>({
      kind: 'Job',
      namespace: TASK_NAMESPACE,
      labelSelector: `${TASK_LABEL}=${task.name}`,
    }),
    kube.list<NodeObject>({ kind: 'Node', labelSelector: `${NODE_TASK_LABEL}=${task.labelValue}` }),
    getLease(kube),
  ]);
  const live = runIsLive(task, execution, lease, now(deps));
  const views = nodeViews({ task, jobs, labelledNodes: new Set(labelled.map((n) => n.metadata.name)), live });
  await forEachLimited(
    views.filter((v) => v.failedJob !== undefined),
    REASON_CONCURRENCY,
    async (v) => {
      v.reason = await failureReason(kube, v.failedJob!);
    },
  );
  return views.map(({ failedJob: _job, ...node }) => node);
}

export async function getTask(
  deps: ApiDependencies,
  name: string,
  requestedCluster?: string,
): Promise<TaskDetail> {
  checkTaskName(name);
  const cluster = await resolveCluster(deps, requestedCluster);
  const kube = await deps.kube(cluster);
  const recorded = await getRecorded(kube, name);
  const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
  if (recorded === undefined && executions.length === 0) {
    throw new TaskNotFoundError(
      `task ${name} not found in cluster ${cluster}`,
      'list the tasks with GET /tasks',
    );
  }
  const detail = await currentExecution(deps, executions, recorded);
  const execution = detail ? view(detail) : recorded ? unknownExecution(recorded) : view(executions[0]!);
  const nodes = recorded ? await nodesOf(deps, kube, recorded, execution) : [];
  return {
    apiVersion: NODE_TASK_API_VERSION,
    kind: NODE_TASK_KIND,
    metadata: { name },
    spec: submittedSpec(detail) ?? recorded?.spec ?? {},
    status: { ...originalStatus(nodes), progress: progressOf(nodes), nodes },
    execution,
  };
}

interface ClusterFacts {
  tasks: RecordedTask[];
  jobs: JobObject[];
  labelled: Map<string, Set<string>>;
  lease: LeaseObject | undefined;
}

async function clusterFacts(kube: Kube): Promise<ClusterFacts> {
  const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const [objects, jobs, nodes, lease] = await Promise.all([
    kube.list<ConfigMapObject>({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, labelSelector: managed }),
    kube.list<JobObject>({ kind: 'Job', namespace: TASK_NAMESPACE, labelSelector: managed }),
    kube.list<NodeObject>({ kind: 'Node', labelSelector: NODE_TASK_LABEL }),
    getLease(kube),
  ]);
  const labelled = new Map<string, Set<string>>();
  for (const node of nodes) {
    const value = node.metadata.labels?.[NODE_TASK_LABEL] ?? '';
    labelled.set(value, (labelled.get(value) ?? new Set()).add(node.metadata.name));
  }
  const tasks = objects.map(recordedTask).filter((t): t is RecordedTask => t !== undefined);
  return { tasks, jobs, labelled, lease };
}

export async function listTasks(deps: ApiDependencies, requestedCluster?: string): Promise<TaskList> {
  const cluster = await resolveCluster(deps, requestedCluster);
  const kube = await deps.kube(cluster);
  const facts = await clusterFacts(kube);
  const executions = await deps.workflow.list();
  const byArn = new Map(executions.map((e) => [e.arn, e]));
  let describes = 0;
  const items: TaskListItem[] = [];
  const seen = new Set<string>();
  for (const task of facts.tasks) {
    seen.add(task.name);
    let execution = byArn.get(task.executionId);
    if (execution === undefined && describes < MAX_DESCRIBES && task.executionId.startsWith('arn:')) {
      describes += 1;
      execution = await deps.workflow.describe(task.executionId);
    }
    const shown = execution ? view(execution) : unknownExecution(task);
    const live = runIsLive(task, shown, facts.lease, now(deps));
    const nodes = nodeViews({
      task,
      jobs: facts.jobs,
      labelledNodes: facts.labelled.get(task.labelValue) ?? new Set(),
      live,
    });
    items.push(listItem(task.name, cluster, nodes, shown));
  }
  // Executions of tasks without a task object yet (planning, or refused before Prepare): newest per task.
  for (const execution of executions) {
    const name = taskOfExecution(cluster, execution.name);
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    items.push(listItem(name, cluster, [], view(execution)));
  }
  items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { items };
}

export async function taskEvents(
  deps: ApiDependencies,
  name: string,
  requestedCluster?: string,
): Promise<EventList> {
  checkTaskName(name);
  const cluster = await resolveCluster(deps, requestedCluster);
  const kube = await deps.kube(cluster);
  const events = await kube.list<EventObject>({
    kind: 'Event',
    namespace: TASK_NAMESPACE,
    fieldSelector: `involvedObject.kind=ConfigMap,involvedObject.name=${taskObjectName(name)}`,
  });
  if (events.length === 0 && (await getRecorded(kube, name)) === undefined) {
    const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
    if (executions.length === 0) throw new TaskNotFoundError(`task ${name} not found in cluster ${cluster}`);
  }
  const items = events.map((e) => ({
    type: e.type ?? 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? 1,
    firstTimestamp: e.firstTimestamp ?? e.lastTimestamp ?? '',
    lastTimestamp: e.lastTimestamp ?? e.firstTimestamp ?? '',
  }));
  items.sort((a, b) => (a.lastTimestamp < b.lastTimestamp ? -1 : a.lastTimestamp > b.lastTimestamp ? 1 : 0));
  return { items };
}
