/**
 * The NodeTask custom resource as the task object (ADR 0022): Prepare adopts the one applied with
 * kubectl, or creates one for a task submitted through the API, and every step that already writes
 * keeps its status current. A cluster without the NodeTask CRD runs tasks as before, with the
 * ConfigMap record as the root of ownership.
 */
import type { NodeWork, TaskRef, TaskSummary } from '../domain/contracts';
import { specDigest } from '../domain/k8s-objects';
import { validateNodeTask } from '../domain/node-task';
import { NODE_TASK_KIND } from '../domain/node-task-schema';
import {
  SPEC_DIGEST_ANNOTATION,
  countsOf,
  finishedStatus,
  nodeProgress,
  nodeTaskForRun,
  startedStatus,
  type NodeDetail,
  type NodeTaskObject,
} from '../domain/node-task-status';
import type { NodeResult } from '../domain/contracts';
import { TaskConflictError, TransientError } from '../errors';
import type { Dependencies, Kube, ObjectRef } from '../ports';
import { now } from './common';

/** Whole-status writes that met a concurrent change are tried again this many times. */
const MAX_ROUNDS = 5;

function nodeTaskRef(name: string): ObjectRef {
  return { kind: NODE_TASK_KIND, name };
}

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

/**
 * One node's progress, written by its own iteration. Best effort: the status is what people watch,
 * the workflow's own record is its state; a write that fails is logged and the install goes on.
 * Returns the NodeTask as written (its uid names it in the node's Events), when it was.
 */
export async function recordNodeProgress(
  deps: Pick<Dependencies, 'log'>,
  kube: Kube,
  task: Pick<TaskRef, 'name'>,
  name: string,
  detail: NodeDetail,
): Promise<NodeTaskObject | undefined> {
  const ref = nodeTaskRef(task.name);
  try {
    const written = await kube.patchStatus<NodeTaskObject>(ref, nodeProgress(name, detail));
    if (written === 'absent' || written === 'conflict') return undefined;
    // Counts from the map as it is now, only onto this very version: a later writer counts again.
    await kube.patchStatus(ref, countsOf(written.status), {
      resourceVersion: written.metadata.resourceVersion ?? '',
    });
    return written;
  } catch (error) {
    deps.log.warn('the NodeTask status was not updated', {
      node: name,
      state: detail.state,
      errorName: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}

/** Summarize's write: every node's outcome, the counts and the original's status, over the whole status. */
export async function recordFinalStatus(
  deps: Pick<Dependencies, 'clock'>,
  kube: Kube,
  input: {
    task: Pick<TaskRef, 'name'>;
    results: readonly NodeResult[];
    skipped: ReadonlyArray<{ name: string; ip: string }>;
    summary: TaskSummary;
  },
): Promise<'written' | 'absent'> {
  const ref = nodeTaskRef(input.task.name);
  const reasons = new Map(input.summary.failures.map((f) => [f.name, f.reason]));
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await kube.get<NodeTaskObject>(ref);
    if (current === undefined) return 'absent';
    const status = finishedStatus({
      results: input.results,
      skipped: input.skipped,
      reasons,
      now: now(deps),
      ...(current.status === undefined ? {} : { previous: current.status }),
    });
    const written = await kube.patchStatus(ref, status, {
      resourceVersion: current.metadata.resourceVersion ?? '',
    });
    if (written === 'absent') return 'absent';
    if (written !== 'conflict') return 'written';
  }
  throw new TransientError(
    `NodeTask ${input.task.name} kept changing while its status was written; try again`,
  );
}
