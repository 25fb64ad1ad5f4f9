/**
 * The run's record (the ConfigMap `penetrator-task-<task>`): what the task runs with, its label value,
 * the name → IP assignment and the execution that writes it.
 */
import { TASK_NAMESPACE, type TaskRef } from './contracts';
import { taskObjectName } from './job-names';
import type { ConfigMapObject } from './kube-types';
import { managedLabels } from './prepared-task';
import { canonicalJson } from './spec-digest';

/** Keys of the task object's data. */
export const TaskObjectKeys = {
  spec: 'spec',
  specDigest: 'specDigest',
  labelValue: 'labelValue',
  assignment: 'assignment',
  status: 'status',
  executionId: 'executionId',
} as const;

export interface TaskStatus {
  nodetaskStatus: 'ready' | 'creating';
  /** name → IP of every node not installed yet. */
  nodeStatus: Record<string, string>;
}

export interface TaskObjectInput {
  task: TaskRef;
  /** Every machine of the task, to install or skipped: name → IP. */
  assignment: Record<string, string>;
  status: TaskStatus;
}

/** The settings the task runs with, as recorded in the task object (no secret: names only). */
export function recordedSpec(task: TaskRef, proxyNodes: readonly string[]): Record<string, unknown> {
  return {
    sshCredential: task.credential,
    sshUser: task.sshUser,
    sshPort: task.sshPort,
    mode: task.mode,
    installer: task.installer,
    proxyNodes: [...proxyNodes],
    maxAttempts: task.maxAttempts,
    attemptTimeoutSeconds: task.attemptTimeoutSeconds,
    pollSeconds: task.pollSeconds,
  };
}

export function taskObject(input: TaskObjectInput, proxyNodes: readonly string[]): ConfigMapObject {
  const { task } = input;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: taskObjectName(task.name),
      namespace: TASK_NAMESPACE,
      labels: managedLabels(task.name),
    },
    data: {
      [TaskObjectKeys.spec]: canonicalJson(recordedSpec(task, proxyNodes)),
      [TaskObjectKeys.specDigest]: task.specDigest ?? '',
      [TaskObjectKeys.labelValue]: task.labelValue,
      [TaskObjectKeys.assignment]: canonicalJson(input.assignment),
      [TaskObjectKeys.status]: canonicalJson(input.status),
      [TaskObjectKeys.executionId]: task.executionId,
    },
  };
}
