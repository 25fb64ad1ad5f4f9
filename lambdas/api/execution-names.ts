/**
 * Execution names tie an execution to its cluster and task: `<cluster>--<task>--<6 random>`. Step
 * Functions allows 80 characters; a longer pair is cut and a hash of the whole pair keeps the prefix
 * unique. The prefix is deterministic, so the executions of one task are found by name alone.
 */
import { shortHash } from '../domain/job-names';
import { defaultRandom, randomSuffix, type RandomSource } from '../domain/random';

export const MAX_EXECUTION_NAME = 80;
const SUFFIX_LENGTH = 6;
const SEPARATOR = '--';
/** Room for the cut pair in a hashed prefix: 80 − `-<10 hash>` − `--` − 6. */
const CUT_LENGTH = MAX_EXECUTION_NAME - 11 - SEPARATOR.length - SUFFIX_LENGTH;

/** `<cluster>--<task>--`, or `<cut pair>-<hash>--` when the full name would exceed 80 characters. */
export function executionPrefix(cluster: string, task: string): string {
  const pair = `${cluster}${SEPARATOR}${task}`;
  if (pair.length + SEPARATOR.length + SUFFIX_LENGTH <= MAX_EXECUTION_NAME) {
    return `${pair}${SEPARATOR}`;
  }
  return `${pair.slice(0, CUT_LENGTH)}-${shortHash(pair)}${SEPARATOR}`;
}

export function executionNameFor(
  cluster: string,
  task: string,
  random: RandomSource = defaultRandom,
): string {
  return `${executionPrefix(cluster, task)}${randomSuffix(random)}`;
}

const SUFFIX = /^[a-z0-9]{6}$/;

/**
 * The task an execution of `cluster` runs, read from its name; undefined for other clusters' and for
 * hashed names (those are matched through the task object, which records its execution).
 */
export function taskOfExecution(cluster: string, executionName: string): string | undefined {
  const head = `${cluster}${SEPARATOR}`;
  if (!executionName.startsWith(head)) return undefined;
  const suffix = executionName.slice(-SUFFIX_LENGTH);
  const rest = executionName.slice(head.length, -SUFFIX_LENGTH);
  if (!SUFFIX.test(suffix) || !rest.endsWith(SEPARATOR)) return undefined;
  const task = rest.slice(0, -SEPARATOR.length);
  if (task === '' || executionPrefix(cluster, task) !== `${head}${rest}`) return undefined;
  return task;
}
