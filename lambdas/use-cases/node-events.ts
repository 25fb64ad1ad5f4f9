/**
 * A node's live Events (domain/node-events.ts), written by the step that saw the change as it
 * happens. Never fatal: an Event is for people watching; a write that fails is logged and the
 * install goes on.
 */
import type { TaskRef } from '../domain/contracts';
import { nodeEvents, type NodeChange } from '../domain/node-events';
import type { NodeTaskObject } from '../domain/node-task-status';
import type { Dependencies, Kube } from '../ports';
import { now } from './common';

export interface NodeEventRequest {
  /** As the node's status write returned it; undefined when there is none. */
  nodeTask: NodeTaskObject | undefined;
  task: Pick<TaskRef, 'executionId'>;
  node: { name: string; ip: string };
  change: NodeChange;
}

export async function recordNodeEvent(
  deps: Pick<Dependencies, 'log' | 'clock'>,
  kube: Kube,
  { nodeTask, task, node, change }: NodeEventRequest,
): Promise<void> {
  const uid = nodeTask?.metadata.uid;
  // Without the NodeTask (a cluster without the CRD, or its write failed) there is nothing to describe.
  if (nodeTask === undefined || uid === undefined) return;
  try {
    for (const event of nodeEvents({
      nodeTask: { name: nodeTask.metadata.name, uid },
      executionId: task.executionId,
      node,
      change,
      now: now(deps),
    })) {
      await kube.create(event);
    }
  } catch (error) {
    deps.log.warn('the node Event was not recorded', {
      node: node.name,
      reason: change.reason,
      errorName: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    });
  }
}
