/**
 * DELETE /tasks/{name}: stop the task's running execution, then remove what the task put in the
 * cluster — its install Jobs, the credential Secret and the lock (through the workflow's own
 * cleanup, so the lock goes only when this task's execution holds it), the script ConfigMap, and
 * last the task object, whose deletion lets the garbage collector take anything an in-flight Lambda
 * still creates for it. Idempotent.
 */
import { TaskNotFoundError } from '../errors';
import { TASK_NAMESPACE, type TaskRef } from '../domain/contracts';
import { TASK_LABEL, credentialSecretName, scriptConfigMapName, taskObjectName } from '../domain/job-names';
import type { ConfigMapObject, JobObject } from '../domain/kube-types';
import { CANCELLED_ERROR, type Dependencies, type ExecutionInfo, type Kube, type Workflow } from '../ports';
import { cleanup } from './cleanup';
import { forEachLimited } from './common';
import { executionPrefix } from '../domain/execution-names';
import type { CancelResponse } from '../api/schemas';
import { recordedTask, type RecordedTask } from '../api/task-view';
import { resolveCluster } from './cluster-choice';
import { checkTaskName } from './task-name';

export const CANCEL_CAUSE = 'cancelled through the API';
/** How long to wait for a stopped execution to leave RUNNING, and how often to look. */
const STOP_WAIT_MS = 10_000;
const STOP_POLL_MS = 250;
const DELETE_CONCURRENCY = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The API's DELETE and the sync of a deleted NodeTask: the workflow's dependencies and the state machine. */
export type CancelDependencies = Dependencies & { workflow: Workflow };

async function stopAndWait(deps: CancelDependencies, execution: ExecutionInfo, cause: string): Promise<void> {
  await deps.workflow.stop(execution.arn, cause);
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    const detail = await deps.workflow.describe(execution.arn);
    if (detail === undefined || detail.status !== 'RUNNING') return;
    await sleep(STOP_POLL_MS);
  }
  deps.log.warn('the stopped execution still reports RUNNING; cleaning up anyway', {
    execution: execution.arn,
  });
}

/**
 * The TaskRef cleanup needs: the names it deletes and the execution whose lock it may release. The
 * other fields only satisfy the workflow's payload check; cleanup does not read them.
 */
function cleanupTask(
  name: string,
  cluster: string,
  executionId: string,
  recorded: RecordedTask | undefined,
  ownerUid: string | undefined,
): TaskRef {
  const task: TaskRef = {
    name,
    cluster,
    labelValue: recorded?.labelValue || '-',
    mode: 'proxy',
    installer: 'edgeadm',
    credential: '-',
    sshUser: 'root',
    sshPort: 22,
    executionId,
    maxAttempts: 1,
    attemptTimeoutSeconds: 60,
    pollSeconds: 5,
    credentialSecret: credentialSecretName(name),
  };
  if (recorded && ownerUid) {
    // Prepared: cleanup then records a TaskFailed Event on the task object, which tells why it ended.
    Object.assign(task, {
      ownerUid,
      taskObject: taskObjectName(name),
      scriptConfigMap: scriptConfigMapName(name),
    });
  }
  return task;
}

async function deleteJobs(kube: Kube, name: string): Promise<number> {
  const jobs = await kube.list<JobObject>({
    kind: 'Job',
    namespace: TASK_NAMESPACE,
    labelSelector: `${TASK_LABEL}=${name}`,
  });
  await forEachLimited(jobs, DELETE_CONCURRENCY, async (job) => {
    await kube.delete({ kind: 'Job', namespace: TASK_NAMESPACE, name: job.metadata.name });
  });
  return jobs.length;
}

export function cancelTask(
  deps: CancelDependencies,
  name: string,
  requestedCluster?: string,
): Promise<CancelResponse> {
  return stopAndRemoveTask(deps, name, requestedCluster, CANCEL_CAUSE);
}

/** The cancel path, with the cause the stopped execution records (the API's, or the sync's). */
export async function stopAndRemoveTask(
  deps: CancelDependencies,
  name: string,
  requestedCluster: string | undefined,
  cause: string,
): Promise<CancelResponse> {
  checkTaskName(name);
  const cluster = await resolveCluster(deps, requestedCluster);
  const kube = await deps.kube(cluster);
  const object = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(name),
  });
  const recorded = object ? recordedTask(object) : undefined;
  const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
  if (object === undefined && executions.length === 0) {
    throw new TaskNotFoundError(
      `task ${name} not found in cluster ${cluster}`,
      'list the tasks with GET /tasks',
    );
  }

  const running = executions.filter((e) => e.status === 'RUNNING');
  for (const execution of running) await stopAndWait(deps, execution, cause);
  const jobs = await deleteJobs(kube, name);

  // Every run that may hold the lock: the ones just stopped and the one the task object records.
  const runs = new Set(running.map((e) => e.arn));
  if (recorded?.executionId) runs.add(recorded.executionId);
  if (runs.size === 0 && executions[0]) runs.add(executions[0].arn);
  for (const executionId of runs) {
    const task = cleanupTask(name, cluster, executionId, recorded, object?.metadata.uid);
    // Only a run that was stopped is told as aborted; a finished task is simply removed.
    const stopped = running.some((e) => e.arn === executionId);
    await cleanup(
      deps,
      stopped ? { task, error: { Error: CANCELLED_ERROR, Cause: cause } } : { task },
    );
  }

  await kube.delete({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: scriptConfigMapName(name) });
  await kube.delete({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: taskObjectName(name) });
  // The task object itself (ADR 0022); absent in a cluster without the NodeTask CRD.
  await kube.delete({ kind: 'NodeTask', name });
  deps.log.info('task cancelled', { task: name, cluster, stopped: running.length, jobsDeleted: jobs });
  return { name, cancelled: true };
}
