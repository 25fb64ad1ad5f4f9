/**
 * What the sync does with one NodeTask found in a cluster (`kubectl apply -f` as a door, ADR 0032).
 * Pure: use-cases/sync-node-tasks.ts reads the NodeTasks and acts on the decision.
 *
 * The product's finalizer marks a NodeTask the sync has taken on: it is added before the task is
 * started, so a `kubectl delete nt` that comes while the run goes on waits until the sync has stopped
 * the run and cleaned up, and it is the only mark the sync leaves on the object's metadata.
 */
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './job-names';
import { validateNodeTask, type NodeTask } from './node-task';
import type { NodeTaskCondition, NodeTaskObject } from './node-task-status';

export const SYNC_FINALIZER = 'penetrator.superedge.io/cleanup';

/** A NodeTask as listed, with the finalizers its metadata may hold. */
export type ListedNodeTask = NodeTaskObject & {
  metadata: NodeTaskObject['metadata'] & { finalizers?: string[] };
};

/** A condition message is for people: this many characters at most, whatever the problems. */
const MAX_MESSAGE_LENGTH = 1024;

export type SyncDecision =
  /** Nothing to do: started already, written by the product, or being deleted without our finalizer. */
  | { action: 'leave'; why: string }
  /** Refused before anything starts; `problems` name the field paths. */
  | { action: 'refuse'; problems: string[] }
  /**
   * Start it. `marked`: it carries our finalizer already, so a run may have been started for it
   * that has not written its status yet; without it, the finalizer is added first.
   */
  | { action: 'start'; task: NodeTask; marked: boolean }
  /** Being deleted with our finalizer: stop the run if it goes on, clean up, then drop the finalizer. */
  | { action: 'release' };

export function hasSyncFinalizer(nodeTask: ListedNodeTask): boolean {
  return (nodeTask.metadata.finalizers ?? []).includes(SYNC_FINALIZER);
}

/** The NodeTask as the execution input carries it: what was applied, without the server's metadata. */
function documentOf(nodeTask: ListedNodeTask): unknown {
  return {
    apiVersion: nodeTask.apiVersion,
    kind: nodeTask.kind,
    metadata: { name: nodeTask.metadata.name },
    spec: nodeTask.spec,
  };
}

/**
 * The one decision per NodeTask. `cluster` is the registered cluster the NodeTask was found in: a
 * spec naming another would be run against the wrong machines' cluster, so it is refused.
 */
export function syncDecision(nodeTask: ListedNodeTask, cluster: string): SyncDecision {
  const ours = hasSyncFinalizer(nodeTask);
  if (nodeTask.metadata.deletionTimestamp !== undefined) {
    return ours ? { action: 'release' } : { action: 'leave', why: 'being deleted' };
  }
  if (nodeTask.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
    // Written by Prepare for a task started through the API: that door started it.
    return { action: 'leave', why: 'written by the product for a task it started' };
  }
  if (nodeTask.status?.execution !== undefined && nodeTask.status.execution !== '') {
    return { action: 'leave', why: 'started' };
  }
  const validation = validateNodeTask(documentOf(nodeTask));
  if (!validation.ok) return { action: 'refuse', problems: validation.problems };
  const named = validation.task.spec.cluster;
  if (named !== undefined && named !== cluster) {
    return {
      action: 'refuse',
      problems: [`spec.cluster: names cluster ${named}, but this NodeTask is in cluster ${cluster}`],
    };
  }
  return { action: 'start', task: validation.task, marked: ours };
}

/** The finalizers with ours added (kept in place when present) or removed. */
export function withSyncFinalizer(nodeTask: ListedNodeTask, present: boolean): string[] {
  const others = (nodeTask.metadata.finalizers ?? []).filter((f) => f !== SYNC_FINALIZER);
  return present ? [...others, SYNC_FINALIZER] : others;
}

function bounded(text: string): string {
  const chars = [...text];
  return chars.length > MAX_MESSAGE_LENGTH ? `${chars.slice(0, MAX_MESSAGE_LENGTH - 1).join('')}…` : text;
}

/**
 * The `Ready` condition saying why the sync did not start the task (`reason` is one CamelCase word:
 * `InvalidSpec`, or the refusing error's short name), or undefined when the NodeTask says so already:
 * a sync run again writes nothing new.
 */
export function notStartedCondition(
  nodeTask: ListedNodeTask,
  reason: string,
  message: string,
  now: Date,
): NodeTaskCondition | undefined {
  const text = bounded(message);
  const current = nodeTask.status?.conditions?.find((c) => c.type === 'Ready');
  if (current?.status === 'False' && current.reason === reason && current.message === text) return undefined;
  return {
    type: 'Ready',
    status: 'False',
    reason,
    message: text,
    lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}
