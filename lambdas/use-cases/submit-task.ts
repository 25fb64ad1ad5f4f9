/**
 * POST /tasks: a NodeTask in, an execution started. Every refusal happens before StartExecution, in
 * this order: the document (400, the same problem lines as `penetrator validate`), the cluster
 * (400/404), the bounds of its credential and cluster (400, read from tags: no credential value is
 * read), then the checks every door shares (use-cases/start-task.ts): the execution input's size
 * (413, Step Functions' limit), the task name (409: its task object exists or an execution of it
 * runs) and the cluster's lock (409 naming the running task).
 */
import { parseNodeTaskText } from '../domain/node-task';
import { InvalidNodeTaskError, RequestInvalidError, TaskConflictError } from '../errors';
import { refuseLargeInput, startTask } from './start-task';
import type { ApiDependencies } from '../ports';
import type { SubmitResponse } from '../api/schemas';
import { resolveCluster } from './cluster-choice';
import { outOfBounds } from './credential-bounds';

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

export async function submitTask(deps: ApiDependencies, request: SubmitRequest): Promise<SubmitResponse> {
  if (request.mediaType !== undefined && !NODE_TASK_MEDIA_TYPES.includes(request.mediaType)) {
    throw new RequestInvalidError(
      `Content-Type ${request.mediaType} is not accepted`,
      'send the NodeTask as application/json or application/yaml',
    );
  }
  const validation = parseNodeTaskText(request.body);
  if (!validation.ok) {
    throw new InvalidNodeTaskError(validation.problems);
  }
  const { task } = validation;
  const name = task.metadata.name;
  const cluster = await resolveCluster(deps, request.cluster, task.spec.cluster);
  // The size first, as every door checks it (startTask checks again): a 413 says more than bounds.
  refuseLargeInput(task, cluster);
  const outside = await outOfBounds(deps, task, cluster);
  if (outside.length > 0) throw new InvalidNodeTaskError(outside);
  const started = await startTask(deps, { task, cluster, ...(deps.random ? { random: deps.random } : {}) });
  if (started.outcome === 'already-started') {
    // Fresh random names meet an existing execution only by chance: a new draw settles it.
    throw new TaskConflictError(
      `an execution named ${started.executionName} exists already`,
      'submit the task again',
    );
  }
  return { name, cluster, executionArn: started.executionArn, statusUrl: statusUrl(name, cluster) };
}
