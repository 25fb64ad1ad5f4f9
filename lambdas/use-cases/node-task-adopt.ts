/**
 * Prepare's adoption of the NodeTask (ADR 0022), apart from the status writes of node-task-object.ts:
 * telling another task's spec from this one's may need the NodeTask validator, which no other
 * workflow function should load (docs/adr/0021).
 */
import type { NodeWork, TaskRef } from '../domain/contracts';
import { specDigest } from '../domain/spec-digest';
import { validateNodeTask } from '../domain/node-task';
import { NODE_TASK_KIND } from '../domain/node-task-kind';
import {
  SPEC_DIGEST_ANNOTATION,
  nodeTaskForRun,
  startedStatus,
  type NodeTaskObject,
} from '../domain/node-task-status';
import { TaskConflictError, TransientError } from '../errors';
import type { Dependencies, Kube } from '../ports';
import { now } from './common';
import { nodeTaskRef } from './node-task-object';

/** The digest of the spec the NodeTask holds: recorded when the product wrote it, else computed as Plan does. */
function digestOf(nodeTask: NodeTaskObject): string | undefined {
  const recorded = nodeTask.metadata.annotations?.[SPEC_DIGEST_ANNOTATION];
  if (recorded !== undefined && recorded !== '') return recorded;
  const validation = validateNodeTask({
    apiVersion: nodeTask.apiVersion,
    kind: nodeTask.kind,
    metadata: { name: nodeTask.metadata.name },
    spec: nodeTask.spec,
  });
  return validation.ok ? specDigest(validation.task.spec) : undefined;
}

function refuseOtherTask(nodeTask: NodeTaskObject, task: TaskRef): void {
  if (nodeTask.metadata.deletionTimestamp !== undefined) {
    throw new TaskConflictError(
      `NodeTask ${task.name} is being deleted; a run cannot adopt it`,
      'wait until it is gone, then submit the task again',
    );
  }
  if (digestOf(nodeTask) !== task.specDigest) {
    throw new TaskConflictError(
      `NodeTask ${task.name} already exists with a different spec; a task cannot be updated`,
      `delete it (kubectl delete nt ${task.name}) or use a new name`,
    );
  }
}

export interface AdoptInput {
  task: TaskRef;
  nodes: readonly NodeWork[];
  skipped: ReadonlyArray<{ name: string; ip: string }>;
  /** Every machine of the task: name → IP. */
  assignment: Record<string, string>;
}

/**
 * Prepare's first write: the NodeTask of this run, adopted or created, its status set to the run's
 * start. Undefined when the cluster does not serve NodeTasks. Throws TaskConflictError for a
 * NodeTask of that name holding another spec, having written nothing.
 */
export async function adoptNodeTask(
  deps: Pick<Dependencies, 'clock'>,
  kube: Kube,
  input: AdoptInput,
): Promise<NodeTaskObject | undefined> {
  if (!(await kube.serves(NODE_TASK_KIND))) return undefined;
  const { task } = input;
  let nodeTask = await kube.get<NodeTaskObject>(nodeTaskRef(task.name));
  if (nodeTask === undefined) {
    const proxies = [...new Set(input.nodes.map((n) => n.proxyNode).filter((p) => p !== ''))];
    nodeTask = (await kube.create(nodeTaskForRun(task, input.assignment, proxies))).object;
  }
  refuseOtherTask(nodeTask, task);
  const status = startedStatus({
    task,
    nodes: input.nodes,
    skipped: input.skipped,
    now: now(deps),
    ...(nodeTask.status === undefined ? {} : { previous: nodeTask.status }),
  });
  const written = await kube.patchStatus<NodeTaskObject>(nodeTaskRef(task.name), status);
  if (written === 'absent' || written === 'conflict') {
    throw new TransientError(`NodeTask ${task.name} was deleted while being adopted; try again`);
  }
  return written;
}
