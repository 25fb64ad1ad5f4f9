/**
 * The NodeTask custom resource as the task object (ADR 0022): Prepare adopts the one applied with
 * kubectl, or creates one for a task submitted through the API (node-task-adopt.ts), and every step
 * that already writes keeps its status current. A cluster without the NodeTask CRD runs tasks as before, with the
 * ConfigMap record as the root of ownership.
 */
import type { TaskRef, TaskSummary } from '../domain/contracts';
import { NODE_TASK_KIND } from '../domain/node-task-kind';
import {
  countsOf,
  finishedStatus,
  nodeProgress,
  type NodeDetail,
  type NodeTaskObject,
  type NodeTaskStatus,
} from '../domain/node-task-status';
import type { NodeResult } from '../domain/contracts';
import { TransientError } from '../errors';
import type { Dependencies, Kube, ObjectRef } from '../ports';
import { now } from './common';

/** Whole-status writes that met a concurrent change are tried again this many times. */
const MAX_ROUNDS = 5;

export function nodeTaskRef(name: string): ObjectRef {
  return { kind: NODE_TASK_KIND, name };
}

/**
 * One node's progress, written by its own iteration. Best effort: the status is what people watch,
 * the workflow's own record is its state; a write that fails is logged and the install goes on.
 * Returns the NodeTask as this write left it (undefined when not written): its uid names it in
 * the node's Events, and its status carries the task-wide figures (installSeconds) at no extra
 * request; a detail's installSeconds is written there.
 */
export async function recordNodeProgress(
  deps: Pick<Dependencies, 'log'>,
  kube: Kube,
  task: Pick<TaskRef, 'name'>,
  name: string,
  detail: NodeDetail & Pick<NodeTaskStatus, 'installSeconds'>,
): Promise<NodeTaskObject | undefined> {
  const ref = nodeTaskRef(task.name);
  const { installSeconds, ...node } = detail;
  try {
    const written = await kube.patchStatus<NodeTaskObject>(ref, {
      ...nodeProgress(name, node),
      ...(installSeconds === undefined ? {} : { installSeconds }),
    });
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
