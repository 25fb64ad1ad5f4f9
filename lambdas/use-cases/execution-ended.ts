/**
 * An execution of the state machine ended ABORTED, TIMED_OUT or FAILED. Step Functions runs no
 * state after an abort or a timeout, so the workflow's own cleanup never ran: this use-case, fed
 * by the execution-status-change rule, deletes the credential Secret and releases the lock instead.
 * Idempotent: a FAILED execution that already cleaned up, or a second delivery, changes nothing.
 *
 * The Secret is deleted only when the task object still records this execution: a later run of the
 * same task uses the same Secret name, and must not lose it to the end of an earlier run. The lock
 * is released only when this execution holds it (releaseLock checks the holder).
 */
import type { Dependencies, Workflow } from '../ports';
import { TASK_NAMESPACE, type CleanupInput, type TaskRef } from '../domain/contracts';
import { credentialSecretName, scriptConfigMapName, taskObjectName } from '../domain/job-names';
import type { ConfigMapObject } from '../domain/kube-types';
import { TaskObjectKeys } from '../domain/task-object';
import { deleteTaskToken } from './bootstrap-token';
import { cleanup } from './cleanup';
import { PayloadError, record } from './common';
import { releaseLock, type LockOutcome } from './lock';

export type EndedStatus = 'ABORTED' | 'TIMED_OUT' | 'FAILED';
const ENDED: readonly string[] = ['ABORTED', 'TIMED_OUT', 'FAILED'];

export type ExecutionEndedDependencies = Dependencies & {
  /** DescribeExecution (adapters/sfn.ts): the execution's input names the task and its cluster. */
  workflow: Pick<Workflow, 'describe'>;
};

export type ExecutionEndedOutput =
  | { outcome: 'skipped'; reason: string }
  | {
      outcome: 'cleaned-up';
      task: string;
      cluster: string;
      credentialSecret: 'deleted' | 'absent' | 'kept';
      bootstrapToken: 'deleted' | 'absent' | 'foreign';
      lock: LockOutcome;
    };

/** The "Step Functions Execution Status Change" event, only the fields used here. */
export function parseStatusChange(payload: unknown): { executionArn: string; status: EndedStatus } {
  const detail = record(record(payload, 'event').detail, 'event.detail');
  if (typeof detail.executionArn !== 'string' || detail.executionArn === '')
    throw new PayloadError('event.detail.executionArn: expected the execution ARN');
  if (typeof detail.status !== 'string' || !ENDED.includes(detail.status))
    throw new PayloadError(`event.detail.status: expected one of ${ENDED.join(', ')}`);
  return { executionArn: detail.executionArn, status: detail.status as EndedStatus };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** The task name and cluster of a workflow input, or why there are none (a Map child's input). */
export function taskOfInput(input: unknown): { name: string; cluster?: string } | string {
  const body = (typeof input === 'object' && input !== null ? input : {}) as {
    nodeTask?: { metadata?: { name?: unknown }; spec?: { cluster?: unknown } };
    cluster?: unknown;
  };
  const name = nonEmpty(body.nodeTask?.metadata?.name);
  if (name === undefined) return 'the execution input holds no NodeTask name';
  const cluster = nonEmpty(body.cluster) ?? nonEmpty(body.nodeTask?.spec?.cluster);
  return cluster === undefined ? { name } : { name, cluster };
}

/** The input's cluster, else the deployment's default, else the only registered cluster (as Plan does). */
async function clusterOf(
  deps: ExecutionEndedDependencies,
  named: string | undefined,
): Promise<string | undefined> {
  const cluster = named ?? deps.settings.defaultCluster;
  if (cluster !== undefined) return cluster;
  const names = await deps.clusters.list();
  return names.length === 1 ? names[0] : undefined;
}

type RecordedSpec = Partial<
  Pick<
    TaskRef,
    'sshUser' | 'sshPort' | 'mode' | 'installer' | 'maxAttempts' | 'attemptTimeoutSeconds' | 'pollSeconds'
  >
> & { sshCredential?: string };

/** Stand-ins for what cleanup's checks require but never uses when the task object is unknown. */
const UNKNOWN_SPEC: Required<RecordedSpec> = {
  sshCredential: 'unknown',
  sshUser: 'root',
  sshPort: 22,
  mode: 'proxy',
  installer: 'edgeadm',
  maxAttempts: 1,
  attemptTimeoutSeconds: 60,
  pollSeconds: 5,
};

function recordedSpec(object: ConfigMapObject | undefined): Required<RecordedSpec> {
  const parsed = parseJson(object?.data?.[TaskObjectKeys.spec]);
  const spec = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as RecordedSpec;
  return { ...UNKNOWN_SPEC, ...spec };
}

/**
 * The minimum TaskRef cleanup needs. With the task object of this execution, it is the prepared
 * task (so cleanup records its Event on it); without, only names and the execution id matter.
 */
export function rebuildTaskRef(
  name: string,
  cluster: string,
  executionArn: string,
  object: ConfigMapObject | undefined,
): TaskRef {
  const spec = recordedSpec(object);
  const task: TaskRef = {
    name,
    cluster,
    labelValue: object?.data?.[TaskObjectKeys.labelValue] ?? `${name}-unknown`,
    mode: spec.mode,
    installer: spec.installer,
    credential: spec.sshCredential,
    sshUser: spec.sshUser,
    sshPort: spec.sshPort,
    executionId: executionArn,
    maxAttempts: spec.maxAttempts,
    attemptTimeoutSeconds: spec.attemptTimeoutSeconds,
    pollSeconds: spec.pollSeconds,
    credentialSecret: credentialSecretName(name),
  };
  const uid = object?.metadata.uid;
  if (object !== undefined && uid !== undefined) {
    task.ownerUid = uid;
    task.taskObject = object.metadata.name;
    task.scriptConfigMap = scriptConfigMapName(name);
  }
  return task;
}

export async function executionEnded(
  deps: ExecutionEndedDependencies,
  payload: unknown,
): Promise<ExecutionEndedOutput> {
  const { executionArn, status } = parseStatusChange(payload);
  const execution = await deps.workflow.describe(executionArn);
  if (execution === undefined) return skipped(deps, `execution ${executionArn} does not exist`);
  const task = taskOfInput(execution.input);
  if (typeof task === 'string') return skipped(deps, task);
  const cluster = await clusterOf(deps, task.cluster);
  if (cluster === undefined) return skipped(deps, `task ${task.name}: its cluster cannot be told`);

  const kube = await deps.kube(cluster);
  const object = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: taskObjectName(task.name),
  });
  const ownsObjects = object?.data?.[TaskObjectKeys.executionId] === executionArn;
  const ref = rebuildTaskRef(task.name, cluster, executionArn, ownsObjects ? object : undefined);

  if (!ownsObjects) {
    // Prepare never finished for this execution (or a later run took the task over): the credential
    // Secret is not ours to delete, but the token named after this execution and the lock may be.
    const bootstrapToken = await deleteTaskToken(kube, ref);
    const lock = await releaseLock(kube, ref);
    deps.log.info('execution ended', { status, credentialSecret: 'kept', bootstrapToken, lock });
    return {
      outcome: 'cleaned-up',
      task: task.name,
      cluster,
      credentialSecret: 'kept',
      bootstrapToken,
      lock,
    };
  }
  const input: CleanupInput = { task: ref };
  // A FAILED execution went through the workflow's own Catch, which recorded why; abort and timeout did not.
  if (status !== 'FAILED') {
    input.error = {
      Error: status === 'ABORTED' ? 'States.Aborted' : 'States.Timeout',
      Cause:
        status === 'ABORTED'
          ? 'the execution was stopped before it could clean up'
          : 'the execution reached its deadline before it could clean up',
    };
  }
  const result = await cleanup(deps, input);
  return { outcome: 'cleaned-up', task: task.name, cluster, ...result };
}

function skipped(deps: Pick<Dependencies, 'log'>, reason: string): ExecutionEndedOutput {
  deps.log.info('execution ended: nothing to clean up', { reason });
  return { outcome: 'skipped', reason };
}
