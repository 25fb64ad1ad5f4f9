import { Duration } from 'aws-cdk-lib';
import { Errors, JitterType, type RetryProps } from 'aws-cdk-lib/aws-stepfunctions';
import { attemptErrorNames, ErrorNames, transientErrorNames } from '../lambdas/errors';

/**
 * Retry of one Lambda call: the apiserver or an AWS API hiccupped. Short, because the state it
 * guards is idempotent and the next attempt usually succeeds.
 */
export const transientRetry: RetryProps = {
  errors: [...transientErrorNames],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 4,
  jitterStrategy: JitterType.FULL,
};

/**
 * Check install's looks at a running install (ADR 0029): it throws InstallRunning while the install
 * runs, and this Retry looks again after 5 s, 10 s, 20 s, … up to every 2 min. The first look already
 * came when the task's installs have been seen to take, so these are the tail; before any install
 * has finished they find its length in a few doublings. One transition per look, no jitter: a
 * node's looks are spread by when its install started.
 */
export const installRunningRetry: RetryProps = {
  errors: [ErrorNames.InstallRunning],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxDelay: Duration.minutes(2),
  // Beyond the longest attempt (spec.attemptTimeoutSeconds ≤ 2 h), when the Job has failed itself.
  maxAttempts: 100,
  jitterStrategy: JitterType.NONE,
};

export interface AttemptRetryOptions {
  /** Pause before the first retry of a node's install attempt. Default 30 s. */
  readonly interval?: Duration;
  /**
   * Retries after the first attempt: the deployment's ceiling. The task's own spec.maxAttempts is
   * enforced below it by Start install throwing Penetrator.AttemptsExhausted. Default 4.
   */
  readonly maxRetries?: number;
  /** Upper bound of one pause, whatever the backoff says. Default 10 min. */
  readonly maxDelay?: Duration;
}

export const attemptRetryDefaults = {
  interval: Duration.seconds(30),
  maxRetries: 4,
  maxDelay: Duration.minutes(10),
} as const;

/** Errors that end one install attempt and make Step Functions start the next one. */
export const attemptRetryErrors: readonly string[] = [
  ...attemptErrorNames,
  ErrorNames.Transient,
  Errors.TIMEOUT,
];

/** Step Functions rejects MaxAttempts above this. */
const MAX_RETRIES_LIMIT = 99_999_999;

/**
 * Retry of one node's whole install attempt (the Parallel wrapper): exponential backoff with full
 * jitter, so hundreds of failing nodes do not retry in lockstep against one apiserver.
 */
export function attemptRetry(options: AttemptRetryOptions = {}): RetryProps {
  const interval = options.interval ?? attemptRetryDefaults.interval;
  const maxRetries = options.maxRetries ?? attemptRetryDefaults.maxRetries;
  const maxDelay = options.maxDelay ?? attemptRetryDefaults.maxDelay;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_RETRIES_LIMIT) {
    throw new Error(
      `attempt retry: maxRetries must be an integer from 0 to ${MAX_RETRIES_LIMIT}; received ${maxRetries}`,
    );
  }
  if (interval.toSeconds({ integral: false }) < 1) {
    throw new Error(
      `attempt retry: interval must be at least 1 second; received ${interval.toHumanString()}`,
    );
  }
  if (maxDelay.toSeconds({ integral: false }) < interval.toSeconds({ integral: false })) {
    throw new Error(
      `attempt retry: maxDelay must not be shorter than interval; received maxDelay ${maxDelay.toHumanString()}` +
        ` with interval ${interval.toHumanString()}`,
    );
  }
  return {
    errors: [...attemptRetryErrors],
    interval,
    backoffRate: 2,
    maxDelay,
    maxAttempts: maxRetries,
    jitterStrategy: JitterType.FULL,
  };
}
