/** How an install Job stands, and why it failed, in words a person can act on. */
import { TASK_NAMESPACE } from '../domain/contracts';
import { ATTEMPT_LABEL, JOB_NAME_LABEL } from '../domain/job-names';
import type { JobObject, PodObject } from '../domain/kube-types';
import type { Kube } from '../ports';

export type JobPhase = 'Running' | 'Succeeded' | 'Failed';

function condition(job: JobObject, type: string): { reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/**
 * Kubernetes 1.31+ marks the outcome first (SuccessCriteriaMet / FailureTarget) and the terminal
 * condition (Complete / Failed) once the Pods are gone; either settles the attempt.
 */
function podCounts(job: JobObject): { failed: number; succeeded: number } {
  return { failed: job.status?.failed ?? 0, succeeded: job.status?.succeeded ?? 0 };
}

export function jobPhase(job: JobObject): JobPhase {
  const pods = podCounts(job);
  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  // backoffLimit 0: one failed Pod is the end of the attempt, even before the condition is written.
  if (failed || (pods.failed > 0 && job.spec?.backoffLimit === 0)) return 'Failed';
  const succeeded = condition(job, 'Complete') ?? condition(job, 'SuccessCriteriaMet');
  return succeeded || pods.succeeded > 0 ? 'Succeeded' : 'Running';
}

export function jobAttempt(job: JobObject): number {
  const value = Number(job.metadata.labels?.[ATTEMPT_LABEL]);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * The last non-empty line: the installer ends with one `<step>: <reason>` line (also its
 * termination message), and status messages put the conclusion last. Reasons are cut to 256
 * characters downstream, so earlier lines would only push it out.
 */
function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.at(-1) ?? '';
}

const MAX_REASON = 1000;

function cut(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

type ContainerStatus = NonNullable<NonNullable<PodObject['status']>['containerStatuses']>[number];

/** The install container's own account: its exit code and last output lines. */
function terminatedReason(status: ContainerStatus): string | undefined {
  const terminated = status.state?.terminated;
  if (!terminated || terminated.exitCode === 0) return undefined;
  const message = oneLine(terminated.message ?? '');
  return `exit code ${terminated.exitCode ?? '?'}${message ? `: ${message}` : ''}`;
}

/** Why the container never ran (an image that cannot be pulled, a missing volume). */
function waitingReason(status: ContainerStatus): string | undefined {
  const waiting = status.state?.waiting;
  if (!waiting?.reason) return undefined;
  return `the container was still waiting: ${waiting.reason}${waiting.message ? `: ${oneLine(waiting.message)}` : ''}`;
}

function podReason(pod: PodObject, jobReason: string): string | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  for (const status of statuses) {
    const reason = terminatedReason(status);
    if (reason) return reason;
  }
  for (const status of statuses) {
    const reason = waitingReason(status);
    if (reason) return `${jobReason}; ${reason}`;
  }
  if (pod.status?.phase !== 'Pending') return undefined;
  const message = pod.status.message
    ? `: ${oneLine(pod.status.message)}`
    : ' (not scheduled, or its image not pulled)';
  return `${jobReason}; the Pod never started${message}`;
}

/**
 * The real reason an attempt failed: the install container's termination message (the script's
 * last output lines, by FallbackToLogsOnError) and exit code, else what kept the Pod from running,
 * else the Job's own condition (DeadlineExceeded, BackoffLimitExceeded).
 */
export async function failureReason(kube: Kube, job: JobObject): Promise<string> {
  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  const jobReason =
    failed?.reason === 'DeadlineExceeded'
      ? `the attempt exceeded its deadline of ${job.spec?.activeDeadlineSeconds ?? '?'} s`
      : `${failed?.reason ?? 'Failed'}${failed?.message ? `: ${oneLine(failed.message)}` : ''}`;
  const pods = await kube.list<PodObject>({
    kind: 'Pod',
    namespace: TASK_NAMESPACE,
    labelSelector: `${JOB_NAME_LABEL}=${job.metadata.name}`,
  });
  for (const pod of pods) {
    const reason = podReason(pod, jobReason);
    if (reason) return cut(`${reason} (Job ${job.metadata.name})`);
  }
  return cut(`${jobReason} (Job ${job.metadata.name})`);
}
