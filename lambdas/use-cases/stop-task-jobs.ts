/**
 * Before a task's cluster lock is released, nothing of the task may still run on a machine: abort,
 * time-out and cancel end an execution without the per-node states that would have waited for the
 * Jobs, and a Job left running keeps its ssh session, and so its join, going on a machine that the
 * next task is then free to install. So cleanup deletes the task's Jobs that have not ended, deletes
 * their Pods (the kubelet stops them; the machine's watcher then ends the join, installer/remote.sh),
 * and waits, bounded, until no Pod of the task is left running or terminating. When some still are,
 * it throws TransientError and the lock stays: the caller's retry waits again.
 *
 * Ended Jobs and Pods stay: they are the task's history (their TTL removes them).
 */
import { TASK_NAMESPACE } from '../domain/contracts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL } from '../domain/job-names';
import type { JobObject, PodObject } from '../domain/kube-types';
import { TransientError } from '../errors';
import type { Kube, Log } from '../ports';
import { jobPhase } from './job-status';

/** How long one cleanup call waits for the Pods: well inside the cleanup Lambda's 60 s. */
export const POD_GONE_WAIT_MS = 40_000;
const POLL_MS = 1_000;

const ENDED_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

export interface StoppedJobs {
  /** Jobs that had not ended and were deleted. */
  jobsStopped: string[];
  /** Pods that were running or pending and were deleted. */
  podsStopped: string[];
}

function taskSelector(taskName: string): string {
  return `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${TASK_LABEL}=${taskName}`;
}

/** A Pod that still runs, may still start, or is being stopped: its ssh session may be open. */
export function podLive(pod: PodObject): boolean {
  return pod.metadata.deletionTimestamp !== undefined || !ENDED_PHASES.has(pod.status?.phase ?? '');
}

async function livePods(kube: Kube, taskName: string): Promise<PodObject[]> {
  const pods = await kube.list<PodObject>({
    kind: 'Pod',
    namespace: TASK_NAMESPACE,
    labelSelector: taskSelector(taskName),
  });
  return pods.filter(podLive);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Stops every running Job of task `taskName` and waits until its Pods are gone. Idempotent: a second
 * call finds nothing to stop. `waitMs` bounds the wait (tests shorten it).
 */
export async function stopTaskJobs(
  kube: Kube,
  taskName: string,
  log: Log,
  waitMs: number = POD_GONE_WAIT_MS,
): Promise<StoppedJobs> {
  const jobs = await kube.list<JobObject>({
    kind: 'Job',
    namespace: TASK_NAMESPACE,
    labelSelector: taskSelector(taskName),
  });
  const running = jobs.filter((job) => jobPhase(job) === 'Running');
  for (const job of running) {
    await kube.delete({ kind: 'Job', namespace: TASK_NAMESPACE, name: job.metadata.name });
  }
  // The Jobs' Pods directly too: the garbage collector would get to them, but only in its own time.
  const pods = await livePods(kube, taskName);
  const toStop = pods.filter((pod) => pod.metadata.deletionTimestamp === undefined);
  for (const pod of toStop) {
    await kube.delete({ kind: 'Pod', namespace: TASK_NAMESPACE, name: pod.metadata.name });
  }
  const stopped = {
    jobsStopped: running.map((job) => job.metadata.name),
    podsStopped: toStop.map((pod) => pod.metadata.name),
  };
  if (pods.length === 0) return stopped;
  if (running.length > 0 || toStop.length > 0) log.info('stopping the task\u2019s install Jobs', stopped);

  const deadline = Date.now() + waitMs;
  let left = pods;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    left = await livePods(kube, taskName);
  }
  if (left.length > 0) {
    throw new TransientError(
      `task ${taskName}: Pod ${left[0]!.metadata.name}${left.length > 1 ? ` and ${left.length - 1} more` : ''} ` +
        'still stopping; the cluster lock is kept until every install of the task has ended',
    );
  }
  return stopped;
}
