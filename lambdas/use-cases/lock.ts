/**
 * The per-cluster lock: the Lease edge-system/penetrator-lock, held by `<task>/<execution name>`.
 * Every write carries the resourceVersion it was based on, so of two racers exactly one wins and
 * the other re-reads and sees the winner.
 */
import { LOCK_LEASE_NAME, TASK_NAMESPACE, type LockInput, type TaskRef } from '../domain/contracts';
import { executionName } from '../domain/job-names';
import { holderTask, leaseExpired, lockHolder, lockLease, type LeaseObject } from '../domain/k8s-objects';
import { ClusterBusyError, TransientError } from '../errors';
import type { Dependencies, Kube, Log } from '../ports';
import { now, parseTaskRef, PayloadError, record } from './common';

/** Rounds of read-then-write; more than a few means the Lease is being fought over. */
const MAX_ROUNDS = 5;

const LEASE_REF = { kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME } as const;

export function parseLockInput(payload: unknown): LockInput {
  const body = record(payload, 'payload');
  if (body.action !== 'acquire' && body.action !== 'renew' && body.action !== 'release') {
    throw new PayloadError('payload.action: expected acquire, renew or release');
  }
  return { action: body.action, task: parseTaskRef(body.task, 'payload.task') };
}

export function holderOf(task: Pick<TaskRef, 'name' | 'executionId'>): string {
  return lockHolder(task.name, executionName(task.executionId));
}

export type LockOutcome = 'acquired' | 'renewed' | 'taken-over' | 'released' | 'not-held';

/** Someone else's Lease may only be taken over once it has expired (and never by a renewal). */
function refuseUnlessExpired(current: LeaseObject, task: TaskRef, at: Date, renewOnly: boolean): void {
  if (!renewOnly && leaseExpired(current, at)) return;
  throw new ClusterBusyError(task.cluster, holderTask(current.spec.holderIdentity ?? '') || '(unknown)');
}

/** Takes the lock (or renews it, when this execution holds it already). Throws ClusterBusyError. */
export async function acquireLock(
  kube: Kube,
  task: TaskRef,
  durationSeconds: number,
  clock: () => Date,
  log: Log,
  renewOnly = false,
): Promise<LockOutcome> {
  const holder = holderOf(task);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await kube.get<LeaseObject>(LEASE_REF);
    if (current === undefined) {
      if (renewOnly) throw new ClusterBusyError(task.cluster, `(none: the lock of ${holder} was lost)`);
      const created = await kube.create(
        lockLease({ name: LOCK_LEASE_NAME, holder, durationSeconds, now: clock() }),
      );
      if (created.outcome === 'created') return 'acquired';
      continue; // Someone created it first: read again and judge their Lease.
    }
    const currentHolder = current.spec.holderIdentity ?? '';
    const ours = currentHolder === holder;
    if (!ours) refuseUnlessExpired(current, task, clock(), renewOnly);
    const written = await kube.replace(
      lockLease({ name: LOCK_LEASE_NAME, holder, durationSeconds, now: clock(), previous: current }),
    );
    if (written === 'conflict' || written === 'absent') continue;
    if (!ours) log.warn('took over an expired lock', { previousHolder: currentHolder });
    return ours ? 'renewed' : 'taken-over';
  }
  throw new TransientError(
    `cluster ${task.cluster}: the lock Lease changed ${MAX_ROUNDS} times while taking it; try again`,
  );
}

/** Deletes the lock if this execution holds it; leaves anyone else's alone. Idempotent. */
export async function releaseLock(kube: Kube, task: TaskRef): Promise<LockOutcome> {
  const holder = holderOf(task);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await kube.get<LeaseObject>(LEASE_REF);
    if (current === undefined || current.spec.holderIdentity !== holder) return 'not-held';
    const resourceVersion = current.metadata.resourceVersion;
    const deleted = await kube.delete(LEASE_REF, resourceVersion === undefined ? {} : { resourceVersion });
    if (deleted !== 'conflict') return 'released';
  }
  throw new TransientError(
    `cluster ${task.cluster}: the lock Lease changed ${MAX_ROUNDS} times while releasing it; try again`,
  );
}

export async function lock(deps: Dependencies, payload: unknown): Promise<{ lock: LockOutcome }> {
  const { action, task } = parseLockInput(payload);
  const kube = await deps.kube(task.cluster);
  const clock = () => now(deps);
  const duration = deps.settings.taskDeadlineSeconds;
  let outcome: LockOutcome;
  if (action === 'release') outcome = await releaseLock(kube, task);
  else outcome = await acquireLock(kube, task, duration, clock, deps.log, action === 'renew');
  deps.log.info('lock', { action, outcome });
  return { lock: outcome };
}
