/**
 * Retrying a task (POST /tasks/{name}/retry, `penetrator retry nodetask NAME`): its machines not yet
 * installed run again; those whose Node carries the task's label are skipped. The run is started
 * with the task's own document, so Plan finds the earlier run's task object and keeps its label and
 * the names it gave (plan.ts, previousRun). Refused before anything starts: an unknown task (404),
 * a running one (409), and a document that is not the task's (409: a task cannot be updated).
 */
import type { ConfigMapObject, LeaseObject } from '../domain/kube-types';
import { specDigest } from '../domain/spec-digest';
import { TaskObjectKeys } from '../domain/task-object';
import {
  executionInputBytes,
  LOCK_LEASE_NAME,
  MAX_EXECUTION_INPUT_BYTES,
  TASK_NAMESPACE,
} from '../domain/contracts';
import { executionPrefix } from '../domain/execution-names';
import { taskObjectName } from '../domain/job-names';
import { validateNodeTask, type NodeTask } from '../domain/node-task';
import { NODE_TASK_KIND } from '../domain/node-task-schema';
import type { NodeTaskObject } from '../domain/node-task-status';
import { InputTooLargeError, TaskConflictError, TaskNotFoundError } from '../errors';
import type { ApiDependencies, Dependencies, ExecutionInfo, Kube, Workflow } from '../ports';
import type { SubmitResponse } from '../api/schemas';
import { lockHolderTask } from '../api/task-view';
import { resolveCluster } from './cluster-choice';
import { now } from './common';
import { startTask } from './start-task';
import { statusUrl } from './submit-task';
import { checkTaskName } from './task-name';

/** Executions read for the task's document, newest first: one holds it unless history has expired. */
const MAX_DESCRIBED = 3;

export interface RetryRequest {
  name: string;
  cluster: string;
  /** The task's document as the caller has it (the local door's -f); else found as below. */
  document?: unknown;
}

export type RetryDependencies = Pick<Dependencies, 'kube' | 'clock'> & {
  /** The deployment's executions; the local door has none. */
  workflow?: Pick<Workflow, 'list' | 'describe'>;
};

/** The candidate as a valid NodeTask of this very task (same name, same spec digest), else undefined. */
export function taskDocument(candidate: unknown, name: string, digest: string): NodeTask | undefined {
  const validation = validateNodeTask(candidate);
  if (!validation.ok) return undefined;
  const { task } = validation;
  return task.metadata.name === name && specDigest(task.spec) === digest ? task : undefined;
}

function inputNodeTask(input: unknown): unknown {
  return typeof input === 'object' && input !== null ? (input as { nodeTask?: unknown }).nodeTask : undefined;
}

/**
 * The task's own document: an execution's input (what was submitted, exactly), else the NodeTask in
 * the cluster when it holds the task's own spec (applied with kubectl). A NodeTask the product wrote
 * for an API task names the machines as the run named them, which is another spec.
 */
async function findDocument(
  deps: RetryDependencies,
  kube: Kube,
  request: RetryRequest,
  digest: string,
  executions: readonly ExecutionInfo[],
): Promise<NodeTask> {
  const { name } = request;
  if (request.document !== undefined) {
    const given = taskDocument(request.document, name, digest);
    if (given !== undefined) return given;
    throw new TaskConflictError(
      `the NodeTask given is not task ${name} as it was started (another name or spec); a task cannot be updated`,
      `retry with the document the task was started with, or delete the task (kubectl delete nt ${name}) and apply the new one`,
    );
  }
  for (const execution of executions.slice(0, MAX_DESCRIBED)) {
    const detail = await deps.workflow?.describe(execution.arn);
    const found = taskDocument(inputNodeTask(detail?.input), name, digest);
    if (found !== undefined) return found;
  }
  if (await kube.serves(NODE_TASK_KIND)) {
    const object = await kube.get<NodeTaskObject>({ kind: NODE_TASK_KIND, name });
    const found =
      object === undefined
        ? undefined
        : taskDocument(
            { apiVersion: object.apiVersion, kind: object.kind, metadata: { name }, spec: object.spec },
            name,
            digest,
          );
    if (found !== undefined) return found;
  }
  throw new TaskNotFoundError(
    `the document task ${name} was started with is not known here: no execution holds it (expired, or a local run), and the cluster's NodeTask names the machines as the run named them`,
    'give it with -f FILE (penetrator retry nodetask NAME -f FILE), or delete the task and submit it again',
  );
}

/**
 * The NodeTask to run again, after every refusal: unknown task (TaskNotFoundError), running task or
 * document not the task's (TaskConflictError). Reads only.
 */
export async function taskToRetry(deps: RetryDependencies, request: RetryRequest): Promise<NodeTask> {
  const { name, cluster } = request;
  checkTaskName(name);
  const kube = await deps.kube(cluster);
  const executions = deps.workflow
    ? await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) })
    : [];
  const running = executions.find((e) => e.status === 'RUNNING');
  const lease = await kube.get<LeaseObject>({
    kind: 'Lease',
    namespace: TASK_NAMESPACE,
    name: LOCK_LEASE_NAME,
  });
  if (running !== undefined || lockHolderTask(lease, now(deps)) === name) {
    throw new TaskConflictError(
      `task ${name} is running in cluster ${cluster}${running ? ` (execution ${running.name})` : ''}; only an ended task can be retried`,
      `wait until it ends (penetrator get nodetask ${name}), or cancel it (penetrator delete nodetask ${name})`,
    );
  }
  const record = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(name),
  });
  const digest = record?.data?.[TaskObjectKeys.specDigest];
  if (record === undefined || digest === undefined || digest === '') {
    throw new TaskNotFoundError(
      `task ${name} has no record in cluster ${cluster}: nothing to retry`,
      'submit it instead: POST /tasks (penetrator apply -f FILE)',
    );
  }
  return findDocument(deps, kube, request, digest, executions);
}

/** POST /tasks/{name}/retry: the task's document started again through the one start path. */
export async function retryTask(
  deps: ApiDependencies,
  request: { name: string; cluster?: string },
): Promise<SubmitResponse> {
  checkTaskName(request.name);
  const cluster = await resolveCluster(deps, request.cluster);
  const task = await taskToRetry(deps, { name: request.name, cluster });
  const bytes = executionInputBytes({ nodeTask: task, cluster });
  if (bytes > MAX_EXECUTION_INPUT_BYTES) {
    throw new InputTooLargeError(
      `the task's NodeTask makes an execution input of ${bytes} bytes; Step Functions accepts at most ${MAX_EXECUTION_INPUT_BYTES}`,
    );
  }
  const started = await startTask(deps, {
    task,
    cluster,
    resume: true,
    ...(deps.random ? { random: deps.random } : {}),
  });
  if (started.outcome === 'already-started') {
    throw new TaskConflictError(`an execution named ${started.executionName} exists already`, 'retry again');
  }
  deps.log.info('task retried', { task: task.metadata.name, cluster, execution: started.executionArn });
  return {
    name: task.metadata.name,
    cluster,
    executionArn: started.executionArn,
    statusUrl: statusUrl(task.metadata.name, cluster),
  };
}
