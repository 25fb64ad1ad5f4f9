import { describe, expect, it } from 'vitest';
import { executionNameFor, executionPrefix, taskOfExecution } from '../../../lambdas/domain/execution-names';
import { seededRandom } from './seeded-random';

describe('execution names', () => {
  it('are <cluster>--<task>--<6 random> when that fits', () => {
    const name = executionNameFor('prod', 'nodes', seededRandom(1));
    expect(name).toMatch(/^prod--nodes--[a-z0-9]{6}$/);
    expect(taskOfExecution('prod', name)).toBe('nodes');
    expect(taskOfExecution('staging', name)).toBeUndefined();
  });

  it('stay within 80 characters with a stable, hashed prefix for long names', () => {
    const cluster = 'c'.repeat(63);
    const task = 't'.repeat(56);
    const name = executionNameFor(cluster, task, seededRandom(2));
    expect(name).toHaveLength(80);
    expect(name.startsWith(executionPrefix(cluster, task))).toBe(true);
    expect(executionPrefix(cluster, task)).toBe(executionPrefix(cluster, task));
    expect(executionPrefix(cluster, task)).not.toBe(executionPrefix(cluster, `${task.slice(1)}u`));
    // A hashed name is matched through the task object, not parsed.
    expect(taskOfExecution(cluster, name)).toBeUndefined();
  });

  it('fit exactly at the limit without hashing', () => {
    const cluster = 'c'.repeat(35);
    const task = 't'.repeat(35);
    expect(executionPrefix(cluster, task)).toBe(`${cluster}--${task}--`);
    expect(executionNameFor(cluster, task)).toHaveLength(80);
  });

  it('start with their prefix and fit 80 characters for every cluster and task name length', () => {
    const random = seededRandom(3);
    // One assertion over the 3,528 pairs, listing every pair that breaks a rule: thousands of
    // separate expect calls cost seconds on a loaded machine.
    const broken: string[] = [];
    for (let c = 1; c <= 63; c++) {
      for (let t = 1; t <= 56; t++) {
        const cluster = 'c'.repeat(c);
        const task = 't'.repeat(t);
        const name = executionNameFor(cluster, task, random);
        // Names that fit uncut are read back; cut ones are matched through their prefix only.
        const readBack = c + t + 10 <= 80 ? task : undefined;
        if (
          name.length > 80 ||
          !name.startsWith(executionPrefix(cluster, task)) ||
          taskOfExecution(cluster, name) !== readBack
        ) {
          broken.push(`cluster ${c}, task ${t}: ${name}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
