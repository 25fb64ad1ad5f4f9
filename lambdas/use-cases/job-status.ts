/** How an install Job stands, and why it failed, in words a person can act on. */
import { TASK_NAMESPACE } from '../domain/contracts';
import { ATTEMPT_LABEL, JOB_NAME_LABEL } from '../domain/job-names';
import type { JobObject, PodObject } from '../domain/k8s-objects';
import type { Kube } from '../ports';

export type JobPhase = 'Running' | 'Succeeded' | 'Failed';

function condition(job: JobObject, type: string): { reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/**
 * Kubernetes 1.31+ marks the outcome first (SuccessCriteriaMet / FailureTarget) and the terminal
 * condition (Complete / Failed) once the Pods are gone; either settles the attempt.
 */
export function jobPhase(job: JobObject): JobPhase {
  if (condition(job, 'Failed') || condition(job, 'FailureTarget')) return 'Failed';
  if (condition(job, 'Complete') || condition(job, 'SuccessCriteriaMet')) return 'Succeeded';
  if ((job.status?.succeeded ?? 0) > 0) return 'Succeeded';
  if ((job.status?.failed ?? 0) > 0 && job.spec?.backoffLimit === 0) return 'Failed';
  return 'Running';
}

export function jobAttempt(job: JobObject): number {
  const value = Number(job.metadata.labels?.[ATTEMPT_LABEL]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-3)
    .join(' | ');
}

const MAX_REASON = 1000;

function cut(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

const DEADLINE_REASONS = new Set(['DeadlineExceeded']);

/**
 * The real reason an attempt failed: the install container's termination message (the script's
 * last output lines, by FallbackToLogsOnError) and exit code, else what keeps the Pod from running,
 * else the Job's own condition (DeadlineExceeded, BackoffLimitExceeded).
 */
export async function failureReason(kube: Kube, job: JobObject): Promise<string> {
  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  const jobReason = failed?.reason ?? 'Failed';
  const deadline = DEADLINE_REASONS.has(jobReason)
    ? `the attempt exceeded its deadline of ${job.spec?.activeDeadlineSeconds ?? '?'} s`
    : undefined;
  const pods = await kube.list<PodObject>({ kind: 'Pod', namespace: TASK_NAMESPACE, labelSelector: `${JOB_NAME_LABEL}=${job.metadata.name}` });
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const terminated = status.state?.terminated;
      if (terminated && terminated.exitCode !== 0) {
        const message = oneLine(terminated.message ?? '');
        return cut(`exit code ${terminated.exitCode ?? '?'}${message ? `: ${message}` : ''} (Job ${job.metadata.name})`);
      }
      const waiting = status.state?.waiting;
      if (waiting?.reason) {
        return cut(`${deadline ?? jobReason}; the container was still waiting: ${waiting.reason}${waiting.message ? `: ${oneLine(waiting.message)}` : ''} (Job ${job.metadata.name})`);
      }
    }
    if (pod.status?.phase === 'Pending') {
      return cut(`${deadline ?? jobReason}; the Pod never started${pod.status.message ? `: ${oneLine(pod.status.message)}` : ' (not scheduled or not pulled)'} (Job ${job.metadata.name})`);
    }
  }
  const message = failed?.message ? `: ${oneLine(failed.message)}` : '';
  return cut(`${deadline ?? `${jobReason}${message}`} (Job ${job.metadata.name})`);
}
