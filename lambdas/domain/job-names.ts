/**
 * Names and labels of the objects a task creates. Kubernetes names stop at 63 characters (Job
 * names even shorter in practice: the Pod name adds a suffix), so long task and node names are
 * hashed where they would not fit.
 */
import { createHash } from 'node:crypto';
import { PRODUCT_DOMAIN } from './contracts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'penetrator';
/** The task's name, on every object created for it. */
export const TASK_LABEL = `${PRODUCT_DOMAIN}/task`;
/** Hash of the node name, on install Jobs (node names may be longer than a label value allows). */
export const NODE_HASH_LABEL = `${PRODUCT_DOMAIN}/node-hash`;
/** Hash of the execution id, on install Jobs: attempts are counted per run of a task. */
export const RUN_LABEL = `${PRODUCT_DOMAIN}/run`;
export const ATTEMPT_LABEL = `${PRODUCT_DOMAIN}/attempt`;
export const NODE_ANNOTATION = `${PRODUCT_DOMAIN}/node`;
export const IP_ANNOTATION = `${PRODUCT_DOMAIN}/ip`;
export const PROXY_ANNOTATION = `${PRODUCT_DOMAIN}/proxy-node`;
/** The Job controller's label on the Pods of a Job. */
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';

const HASH_LENGTH = 10;

/** First 10 hex digits of SHA-256: 40 bits, plenty to tell apart the nodes of one task. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, HASH_LENGTH);
}

/** `arn:…:execution:<machine>:<name>` → `<name>`; anything else is kept whole. */
export function executionName(executionId: string): string {
  const last = executionId.split(':').pop() ?? executionId;
  return last === '' ? executionId : last;
}

export function taskObjectName(taskName: string): string {
  return `penetrator-task-${taskName}`;
}

export function credentialSecretName(taskName: string): string {
  return `penetrator-credential-${taskName}`;
}

export function scriptConfigMapName(taskName: string): string {
  return `penetrator-script-${taskName}`;
}

export function runHash(executionId: string): string {
  return shortHash(executionId);
}

export function nodeHash(nodeName: string): string {
  return shortHash(nodeName);
}

/**
 * `pn-<task+run hash>-<node hash>-<attempt>`: at most 3+10+1+10+1+2 = 27 characters whatever the
 * names, unique per task run, node and attempt, so a retried create meets its own Job (409) and
 * adopts it.
 */
export function installJobName(
  taskName: string,
  executionId: string,
  nodeName: string,
  attempt: number,
): string {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 99) {
    throw new RangeError(`install attempt must be an integer from 1 to 99; received ${attempt}`);
  }
  return `pn-${shortHash(`${taskName}/${executionId}`)}-${nodeHash(nodeName)}-${attempt}`;
}

/** Label selector of every install Job of one node of one task (all runs). */
export function nodeJobsSelector(taskName: string, nodeName: string): string {
  return `${TASK_LABEL}=${taskName},${NODE_HASH_LABEL}=${nodeHash(nodeName)}`;
}
