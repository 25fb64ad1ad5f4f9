/**
 * Node names and task label values. The original names each new machine `<prefix>-<6 of [a-z0-9]>`
 * and marks a task's nodes with the label value `<task name>-<6 of [a-z0-9]>`.
 */
import { isDnsLabel, isDnsSubdomain, MAX_LABEL_LENGTH } from './name-rules';
import { defaultRandom, randomSuffix, type RandomSource } from './random';

export { isDnsLabel, isDnsSubdomain, MAX_LABEL_LENGTH };

/** One machine to install; `name` is set for nodeNamesOverride entries. `ip` is normalised. */
export interface Target {
  ip: string;
  name?: string;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Room left for `-<6>` inside a 63-character label: task names and node name prefixes stop at 56. */
export const MAX_PREFIX_LENGTH = MAX_LABEL_LENGTH - 7;
/** Attempts to draw a free name before giving up; a fair source practically never needs a second. */
const MAX_NAME_TRIES = 100;

/**
 * A name a Node may take. Kubernetes allows a 253-character subdomain, but node names end up in label
 * values (kubernetes.io/hostname) and Job names, so the product keeps them within 63.
 */
export function isValidNodeName(s: string): boolean {
  return isDnsSubdomain(s, MAX_LABEL_LENGTH);
}

export function isValidLabelValue(s: string): boolean {
  return s.length <= MAX_LABEL_LENGTH && LABEL_VALUE.test(s);
}

/** The task's label value `<task name>-<6 of [a-z0-9]>`, fresh for every task. */
export function taskLabelValue(taskName: string, random: RandomSource = defaultRandom): string {
  const value = `${taskName}-${randomSuffix(random)}`;
  if (!isValidLabelValue(value)) {
    throw new Error(
      `task name ${JSON.stringify(taskName.slice(0, 80))} does not make a valid label value; ` +
        `expected a DNS-1123 subdomain of at most ${MAX_PREFIX_LENGTH} characters`,
    );
  }
  return value;
}

/**
 * Gives every target a node name: nodeNamesOverride entries keep theirs, every other IP gets
 * `<prefix>-<6>` that collides neither with an existing node nor with another name of this task.
 * The result keeps the order of `targets`.
 */
export function assignNodeNames(
  targets: Target[],
  prefix: string,
  existing: ReadonlySet<string>,
  random: RandomSource = defaultRandom,
): Array<{ name: string; ip: string }> {
  const taken = new Set(existing);
  for (const target of targets) if (target.name !== undefined) taken.add(target.name);
  return targets.map((target) => {
    if (target.name !== undefined) return { name: target.name, ip: target.ip };
    const name = drawFreeName(prefix, taken, random);
    taken.add(name);
    return { name, ip: target.ip };
  });
}

function drawFreeName(prefix: string, taken: ReadonlySet<string>, random: RandomSource): string {
  if (!isDnsLabel(prefix, MAX_PREFIX_LENGTH)) {
    throw new Error(
      `node name prefix ${JSON.stringify(prefix.slice(0, 80))} is not a DNS-1123 label of at most ` +
        `${MAX_PREFIX_LENGTH} characters`,
    );
  }
  for (let i = 0; i < MAX_NAME_TRIES; i++) {
    const name = `${prefix}-${randomSuffix(random)}`;
    if (!taken.has(name)) return name;
  }
  throw new Error(
    `no free node name of the form ${prefix}-xxxxxx after ${MAX_NAME_TRIES} draws; ` +
      'the random source repeats itself or the prefix is exhausted',
  );
}
