/**
 * Execution names tie an execution to its cluster and task: `<cluster>--<task>--<6 random>`. Step
 * Functions allows 80 characters; a longer pair is cut and a hash of the whole pair keeps the prefix
 * unique. The prefix is deterministic, so the executions of one task are found by name alone.
 *
 * The only home of this scheme: every door that starts a task (API, events, sync) names its
 * execution here, and status and cancel find it with the same prefix.
 */
import { shortHash } from './job-names';
import { isDnsSubdomain } from './names';
import { defaultRandom, randomSuffix, type RandomSource } from './random';

export const MAX_EXECUTION_NAME = 80;
const SUFFIX_LENGTH = 6;
const SEPARATOR = '--';
/**
 * Before the hash of a cut pair. Task names never hold `_`, so a cut name cannot read as the uncut
 * name of another task (`-` here would: `<cut task>-<hash>` is a valid task name).
 */
const HASH_MARK = '_';
/** Room for the cut pair in a hashed prefix: 80 − `_<10 hash>` − `--` − 6. */
const CUT_LENGTH = MAX_EXECUTION_NAME - 11 - SEPARATOR.length - SUFFIX_LENGTH;

/** `<cluster>--<task>--`, or `<cut pair>_<hash>--` when the full name would exceed 80 characters. */
export function executionPrefix(cluster: string, task: string): string {
  const pair = `${cluster}${SEPARATOR}${task}`;
  if (pair.length + SEPARATOR.length + SUFFIX_LENGTH <= MAX_EXECUTION_NAME) {
    return `${pair}${SEPARATOR}`;
  }
  return `${pair.slice(0, CUT_LENGTH)}${HASH_MARK}${shortHash(pair)}${SEPARATOR}`;
}

/**
 * A fresh execution name for a run of `task` on `cluster`. A seeded `random` gives the same name
 * for the same seed (an event delivered twice meets its own execution).
 */
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
  if (!isDnsSubdomain(task) || executionPrefix(cluster, task) !== `${head}${rest}`) return undefined;
  return task;
}
