/**
 * A task after Prepare, and what every object it owns carries: the product's labels and an owner
 * reference to the task's record.
 */
import type { TaskRef } from './contracts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL } from './job-names';
import type { OwnerReference } from './kube-types';

export function managedLabels(taskName: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_LABEL]: taskName };
}

/** A task after Prepare: every field the per-node objects refer to is set. */
export type PreparedTask = TaskRef &
  Required<Pick<TaskRef, 'ownerUid' | 'taskObject' | 'credentialSecret' | 'scriptConfigMap'>>;

export function isPreparedTask(task: TaskRef): task is PreparedTask {
  return [task.ownerUid, task.taskObject, task.credentialSecret, task.scriptConfigMap].every(
    (v) => typeof v === 'string' && v !== '',
  );
}

/**
 * Owned by the task object: deleting it lets the garbage collector delete the object. Not the
 * controller (the task object controls nothing), but it blocks its owner's foreground deletion.
 */
export function ownerReference(task: Pick<PreparedTask, 'taskObject' | 'ownerUid'>): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: task.taskObject,
    uid: task.ownerUid,
    controller: false,
    blockOwnerDeletion: true,
  };
}
