/** Helpers shared by the use-cases: payload checks, the clock, the task's cluster client. */
import type { NodeStepInput, NodeWork, TaskRef } from '../domain/contracts';
import { isPreparedTask, type PreparedTask } from '../domain/prepared-task';
import type { Dependencies, Kube } from '../ports';
import { ErrorNames } from '../errors';

/**
 * A payload the workflow itself built is malformed: a wiring bug, not a user error, so it is not
 * one of the typed errors and Step Functions does not retry it.
 */
export class PayloadError extends Error {
  override readonly name = ErrorNames.InvalidPayload;
  readonly retryable = false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record(value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new PayloadError(`${what}: expected an object`);
  return value;
}

function text(value: unknown, what: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value === ''))
    throw new PayloadError(`${what}: expected a non-empty string`);
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new PayloadError(`${what}: expected a whole number`);
  return value;
}

/** Checks the TaskRef fields every state relies on; the object itself is passed on unchanged. */
export function parseTaskRef(value: unknown, what = 'task'): TaskRef {
  const task = record(value, what);
  for (const key of ['name', 'cluster', 'labelValue', 'credential', 'sshUser', 'executionId'] as const)
    text(task[key], `${what}.${key}`);
  for (const key of ['sshPort', 'maxAttempts', 'attemptTimeoutSeconds', 'pollSeconds'] as const)
    integer(task[key], `${what}.${key}`);
  if (task.mode !== 'proxy' && task.mode !== 'direct')
    throw new PayloadError(`${what}.mode: expected proxy or direct`);
  if (task.installer !== 'edgeadm' && task.installer !== 'kubeadm')
    throw new PayloadError(`${what}.installer: expected edgeadm or kubeadm`);
  return task as unknown as TaskRef;
}

export function parseNodeWork(value: unknown, what = 'node'): NodeWork {
  const node = record(value, what);
  text(node.name, `${what}.name`);
  text(node.ip, `${what}.ip`);
  text(node.proxyNode, `${what}.proxyNode`, true);
  if (typeof node.reinstall !== 'boolean') throw new PayloadError(`${what}.reinstall: expected a boolean`);
  if (node.replaces !== undefined) parseList(node.replaces, `${what}.replaces`, (v, w) => text(v, w));
  return node as unknown as NodeWork;
}

export function parseList<T>(value: unknown, what: string, item: (v: unknown, what: string) => T): T[] {
  if (!Array.isArray(value)) throw new PayloadError(`${what}: expected a list`);
  return value.map((v, i) => item(v, `${what}[${i}]`));
}

export function parseNamed(value: unknown, what: string): { name: string; ip: string } {
  const entry = record(value, what);
  return { name: text(entry.name, `${what}.name`), ip: text(entry.ip, `${what}.ip`) };
}

/** A task after Prepare; earlier states never call the per-node use-cases, so anything else is a wiring bug. */
export function requirePrepared(task: TaskRef): PreparedTask {
  if (!isPreparedTask(task)) {
    throw new PayloadError(
      `task ${task.name}: ownerUid, taskObject, credentialSecret and scriptConfigMap are set by Prepare cluster; it has not run`,
    );
  }
  return task;
}

export function now(deps: Pick<Dependencies, 'clock'>): Date {
  return deps.clock ? deps.clock() : new Date();
}

export function kubeFor(deps: Pick<Dependencies, 'kube'>, task: Pick<TaskRef, 'cluster'>): Promise<Kube> {
  return deps.kube(task.cluster);
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight (no unbounded Promise.all against
 * one apiserver). Every item runs; the first error is rethrown after all have settled.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let firstError: unknown;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  if (failed) throw firstError;
}

/** The input of Start install and Check install: one node of a prepared task, and its attempt. */
export function parseNodeStepInput(payload: unknown): NodeStepInput {
  const body = record(payload, 'payload');
  const input: NodeStepInput = {
    task: parseTaskRef(body.task, 'payload.task'),
    node: parseNodeWork(body.node, 'payload.node'),
  };
  if (body.attempt !== undefined && body.attempt !== null) {
    const attempt = record(body.attempt, 'payload.attempt');
    if (typeof attempt.job === 'string' && typeof attempt.number === 'number')
      input.attempt = { job: attempt.job, number: attempt.number };
  }
  return input;
}
