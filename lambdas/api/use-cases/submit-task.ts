/**
 * POST /tasks: a NodeTask in, an execution started. Every refusal happens before StartExecution, in
 * this order: the document (400, the same problem lines as `penetrator validate`), the cluster
 * (400/404), the execution input's size (413, Step Functions' limit), the task name (409: its task object exists or an execution of it runs), the cluster's
 * lock (409 naming the running task).
 */
import {
  executionInputBytes,
  LOCK_LEASE_NAME,
  MAX_EXECUTION_INPUT_BYTES,
  TASK_NAMESPACE,
} from '../../domain/contracts';
import { taskObjectName } from '../../domain/job-names';
import type { ConfigMapObject, LeaseObject } from '../../domain/k8s-objects';
import { parseNodeTaskText } from '../../domain/node-task';
import { now } from '../../use-cases/common';
import { executionNameFor, executionPrefix } from '../execution-names';
import { HttpError } from '../http';
import type { ApiDependencies } from '../ports';
import type { SubmitResponse } from '../schemas';
import { lockHolderTask } from '../task-view';
import { resolveCluster } from './cluster-choice';

/** Media types read as a NodeTask; YAML parsing reads JSON too, so both go through one parser. */
export const NODE_TASK_MEDIA_TYPES = [
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
];

export interface SubmitRequest {
  body: string;
  mediaType?: string;
  cluster?: string;
}

export function statusUrl(name: string, cluster: string): string {
  return `/tasks/${name}?cluster=${encodeURIComponent(cluster)}`;
}

async function refuseTakenName(deps: ApiDependencies, cluster: string, name: string): Promise<void> {
  const kube = await deps.kube(cluster);
  const existing = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(name),
  });
  if (existing !== undefined) {
    throw new HttpError(
      409,
      `task ${name} already exists in cluster ${cluster}; a task cannot be updated`,
      `delete it first (DELETE /tasks/${name}?cluster=${cluster}) or submit it under a new name`,
    );
  }
  const running = await deps.workflow.list({ status: 'RUNNING', namePrefix: executionPrefix(cluster, name) });
  if (running.length > 0) {
    throw new HttpError(
      409,
      `task ${name} is already running in cluster ${cluster} (execution ${running[0]!.name})`,
    );
  }
}

async function refuseBusyCluster(deps: ApiDependencies, cluster: string, name: string): Promise<void> {
  const kube = await deps.kube(cluster);
  const lease = await kube.get<LeaseObject>({
    kind: 'Lease',
    namespace: TASK_NAMESPACE,
    name: LOCK_LEASE_NAME,
  });
  const holder = lockHolderTask(lease, now(deps));
  if (holder === undefined) return;
  if (holder === name) throw new HttpError(409, `task ${name} is already running in cluster ${cluster}`);
  throw new HttpError(
    409,
    `cluster ${cluster} is busy: task ${holder} is running`,
    `wait for it to end, or cancel it with DELETE /tasks/${holder}?cluster=${cluster}`,
    { runningTask: holder },
  );
}

export async function submitTask(deps: ApiDependencies, request: SubmitRequest): Promise<SubmitResponse> {
  if (request.mediaType !== undefined && !NODE_TASK_MEDIA_TYPES.includes(request.mediaType)) {
    throw new HttpError(
      400,
      `Content-Type ${request.mediaType} is not accepted`,
      'send the NodeTask as application/json or application/yaml',
    );
  }
  const validation = parseNodeTaskText(request.body);
  if (!validation.ok) {
    throw new HttpError(400, 'invalid NodeTask', undefined, { problems: validation.problems });
  }
  const { task } = validation;
  const name = task.metadata.name;
  const cluster = await resolveCluster(deps, request.cluster, task.spec.cluster);
  // The document as validated: names, addresses and public host keys only, never a credential.
  const input = { nodeTask: task, cluster };
  const bytes = executionInputBytes(input);
  if (bytes > MAX_EXECUTION_INPUT_BYTES) {
    throw new HttpError(
      413,
      `the NodeTask makes an execution input of ${bytes} bytes; Step Functions accepts at most ${MAX_EXECUTION_INPUT_BYTES}`,
      'split the machines over several tasks, or shorten spec.knownHosts and metadata',
    );
  }
  await refuseTakenName(deps, cluster, name);
  await refuseBusyCluster(deps, cluster, name);

  const executionName = executionNameFor(cluster, name, deps.random);
  const started = await deps.workflow.start(executionName, input);
  if (started.outcome === 'conflict') {
    throw new HttpError(409, `an execution named ${executionName} exists already`, 'submit the task again');
  }
  deps.log.info('task submitted', { task: name, cluster, execution: started.arn });
  return { name, cluster, executionArn: started.arn, statusUrl: statusUrl(name, cluster) };
}
