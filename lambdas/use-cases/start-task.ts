/**
 * Starting a task: the one path every door takes (POST /tasks, a "Reinstall Nodes" event, the sync
 * of NodeTasks applied in the cluster). The NodeTask comes in validated and its cluster resolved;
 * here, in this order and before StartExecution, the execution input's size (Step Functions' limit),
 * the task name (its task object exists, or an execution of it runs) and the cluster's lock (another
 * task runs) are checked. The execution is named by
 * domain/execution-names.ts, so status and cancel find it whichever door started it.
 */
import type { Dependencies, Workflow } from '../ports';
import { lockHolderTask } from '../api/task-view';
import {
  LOCK_LEASE_NAME,
  MAX_EXECUTION_INPUT_BYTES,
  TASK_NAMESPACE,
  executionInputBytes,
} from '../domain/contracts';
import { executionNameFor, executionPrefix } from '../domain/execution-names';
import { taskObjectName } from '../domain/job-names';
import type { ConfigMapObject, LeaseObject } from '../domain/kube-types';
import type { NodeTask } from '../domain/node-task';
import { defaultRandom, type RandomSource } from '../domain/random';
import { ClusterBusyError, InputTooLargeError, TaskConflictError } from '../errors';
import { now } from './common';

export type StartTaskDependencies = Pick<Dependencies, 'kube' | 'log' | 'clock'> & {
  workflow: Pick<Workflow, 'start' | 'list'>;
};

export interface StartTaskRequest {
  /** Validated (domain/node-task.ts); the execution input carries it as is: names and addresses only. */
  task: NodeTask;
  /** Registered and resolved by the door. */
  cluster: string;
  /**
   * Draws the execution name's suffix. A door that may be called twice for the same request (an
   * event delivered again) seeds it, so the second call meets the first call's execution.
   */
  random?: RandomSource;
  /**
   * A retry (use-cases/retry-task.ts): the task object exists and is what the run resumes from, so
   * only a running execution of the task refuses the start.
   */
  resume?: boolean;
}

export type StartTaskResult =
  | { outcome: 'started'; executionName: string; executionArn: string }
  /** This very execution exists already: the same request came again (seeded names only). */
  | { outcome: 'already-started'; executionName: string };

async function refuseTakenName(
  deps: StartTaskDependencies,
  cluster: string,
  name: string,
  executionName: string,
  resume: boolean,
): Promise<'free' | 'already-started'> {
  const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
  if (executions.some((e) => e.name === executionName)) return 'already-started';
  const kube = await deps.kube(cluster);
  const existing = resume
    ? undefined
    : await kube.get<ConfigMapObject>({
        kind: 'ConfigMap',
        namespace: TASK_NAMESPACE,
        name: taskObjectName(name),
      });
  if (existing !== undefined) {
    throw new TaskConflictError(
      `task ${name} already exists in cluster ${cluster}; a task cannot be updated`,
      `to install its machines not yet installed, retry it: penetrator retry nodetask ${name} ` +
        `(POST /tasks/${name}/retry); to start it over, delete it first, or submit it under a new name`,
    );
  }
  const running = executions.find((e) => e.status === 'RUNNING');
  if (running !== undefined) {
    throw new TaskConflictError(
      `task ${name} is already running in cluster ${cluster} (execution ${running.name})`,
    );
  }
  return 'free';
}

async function refuseBusyCluster(deps: StartTaskDependencies, cluster: string, name: string): Promise<void> {
  const kube = await deps.kube(cluster);
  const lease = await kube.get<LeaseObject>({
    kind: 'Lease',
    namespace: TASK_NAMESPACE,
    name: LOCK_LEASE_NAME,
  });
  const holder = lockHolderTask(lease, now(deps));
  if (holder === undefined) return;
  if (holder === name) throw new TaskConflictError(`task ${name} is already running in cluster ${cluster}`);
  throw new ClusterBusyError(cluster, holder);
}

export function refuseLargeInput(task: NodeTask, cluster: string): void {
  // The document as validated: names, addresses and public host keys only, never a credential.
  const bytes = executionInputBytes({ nodeTask: task, cluster });
  if (bytes > MAX_EXECUTION_INPUT_BYTES) {
    throw new InputTooLargeError(
      `the NodeTask makes an execution input of ${bytes} bytes; Step Functions accepts at most ${MAX_EXECUTION_INPUT_BYTES}`,
      'split the machines over several tasks, or shorten spec.knownHosts and metadata',
    );
  }
}

/** Throws InputTooLargeError, TaskConflictError or ClusterBusyError, having started nothing. */
export async function startTask(
  deps: StartTaskDependencies,
  request: StartTaskRequest,
): Promise<StartTaskResult> {
  const { task, cluster } = request;
  refuseLargeInput(task, cluster);
  const name = task.metadata.name;
  const executionName = executionNameFor(cluster, name, request.random ?? defaultRandom);
  const taken = await refuseTakenName(deps, cluster, name, executionName, request.resume === true);
  if (taken === 'already-started') {
    return { outcome: 'already-started', executionName };
  }
  await refuseBusyCluster(deps, cluster, name);
  // The document as validated: names, addresses and public host keys only, never a credential.
  const started = await deps.workflow.start(executionName, { nodeTask: task, cluster });
  if (started.outcome === 'conflict') {
    // Started between the check above and now by the same request delivered twice at once.
    return { outcome: 'already-started', executionName };
  }
  deps.log.info('task started', { task: name, cluster, execution: started.arn });
  return { outcome: 'started', executionName, executionArn: started.arn };
}
