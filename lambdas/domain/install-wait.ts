/**
 * How long a node's iteration waits before it first looks at its install (ADR 0029). Following an
 * install must not cost in proportion to its length: the first look comes when an install of this
 * task has been seen to take, and the looks after it back off (Check install's Retry on
 * InstallRunning, statemachine/retry-policies.ts), so a node costs a handful of state transitions
 * whether its install takes 30 s or 30 min.
 */

/** Step Functions' Wait takes whole seconds; a first look sooner than this is only a wasted poll. */
const MIN_FIRST_WAIT_SECONDS = 1;

export interface FirstWaitInput {
  /** Seconds the last finished install of the task took (its record), when one has finished. */
  observedSeconds?: number;
  /** The task's spec.pollSeconds: the first look before any install of the task has finished. */
  pollSeconds: number;
  /** The attempt's deadline: an install never runs longer, so waiting longer is never needed. */
  attemptTimeoutSeconds: number;
}

/** Whole seconds to wait after Start install before the first Check install. */
export function firstWaitSeconds(input: FirstWaitInput): number {
  const observed = input.observedSeconds;
  const usable = observed !== undefined && Number.isFinite(observed) && observed > 0;
  const wanted = usable ? observed : input.pollSeconds;
  const bounded = Math.min(wanted, input.attemptTimeoutSeconds);
  return Math.max(MIN_FIRST_WAIT_SECONDS, Math.ceil(bounded));
}

/**
 * Seconds an install took as the task saw it: from its Job's creation (when Start install made it)
 * to the Job's completion, so the wait covers the Pod's scheduling and start too. Undefined when
 * either time is missing or they are out of order.
 */
export function observedInstallSeconds(job: {
  metadata: { creationTimestamp?: string };
  status?: unknown;
}): number | undefined {
  const status = job.status as { completionTime?: string } | undefined;
  const created = Date.parse(job.metadata.creationTimestamp ?? '');
  const completed = Date.parse(status?.completionTime ?? '');
  if (Number.isNaN(created) || Number.isNaN(completed) || completed < created) return undefined;
  return Math.ceil((completed - created) / 1000);
}
