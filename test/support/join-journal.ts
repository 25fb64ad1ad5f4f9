/**
 * What a sandbox machine's stand-in join journals (one JSON line per join start and end), read from
 * the machine's side: the tests that prove "never two installs on one machine" share these.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { EdgeMachine } from '../../sandbox/network';

export interface JournalLine {
  event: 'start' | 'end';
  pid: number;
  at: number;
  outcome?: 'joined' | 'failed' | 'terminated';
}

export function readJoinJournal(machine: EdgeMachine): JournalLine[] {
  if (!existsSync(machine.joinJournal)) return [];
  return readFileSync(machine.joinJournal, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as JournalLine);
}

/** How many joins ran at once on the machine, at most; every join must also have ended. */
export function mostJoinsAtOnce(lines: JournalLine[]): number {
  const running = new Set<number>();
  let most = 0;
  for (const line of [...lines].sort((a, b) => a.at - b.at)) {
    if (line.event === 'start') running.add(line.pid);
    else running.delete(line.pid);
    most = Math.max(most, running.size);
  }
  expect([...running], 'joins that never ended').toEqual([]);
  return most;
}

/** Waits (bounded) until `condition` holds, polling every 200 ms. */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 90_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not so after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
