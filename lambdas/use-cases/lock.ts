/**
 * The per-cluster lock: the Lease edge-system/penetrator-lock, held by `<task>/<execution name>`.
 * Every write carries the resourceVersion it was based on, so of two racers exactly one wins and
 * the other re-reads and sees the winner. The Lease is short (settings.lockLeaseSeconds) and kept
 * alive by the task's own writing steps (holdLock), so a dead run frees the cluster soon (ADR 0008).
 */
import { LOCK_LEASE_NAME, TASK_NAMESPACE, type LockInput, type TaskRef } from '../domain/contracts';
import { executionName } from '../domain/job-names';
import type { LeaseObject } from '../domain/kube-types';
import { holderTask, leaseExpired, lockHolder, lockLease } from '../domain/lock-lease';
import { ClusterBusyError, LockLostError, TransientError, type LockTimes } from '../errors';
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

/** When the Lease was taken and when it runs out unless renewed. */
export function lockTimes(lease: LeaseObject): LockTimes {
  const times: LockTimes = {};
  if (lease.spec.acquireTime) times.since = new Date(Date.parse(lease.spec.acquireTime)).toISOString();
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  const duration = lease.spec.leaseDurationSeconds;
  if (!Number.isNaN(renewed) && duration !== undefined)
    times.expires = new Date(renewed + duration * 1000).toISOString();
  return times;
}

/** Someone else's Lease may only be taken over once it has expired (and never by a renewal). */
function refuseUnlessExpired(current: LeaseObject, task: TaskRef, at: Date, renewOnly: boolean): void {
  if (!renewOnly && leaseExpired(current, at)) return;
  throw new ClusterBusyError(
    task.cluster,
    holderTask(current.spec.holderIdentity ?? '') || '(unknown)',
    lockTimes(current),
  );
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

/**
 * Checks that `task` still holds the cluster lock, renewing the Lease once a third of its duration
 * has passed (so the many steps of a large task write it rarely). Every step that writes calls this
 * first: a task whose lock expired and was taken, or deleted, stops before writing anything.
 */
export async function holdLock(
  deps: Pick<Dependencies, 'settings' | 'clock'>,
  kube: Kube,
  task: TaskRef,
): Promise<void> {
  const holder = holderOf(task);
  const duration = deps.settings.lockLeaseSeconds;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const at = now(deps);
    const current = await kube.get<LeaseObject>(LEASE_REF);
    // Still ours though expired: nobody took it over (that changes the holder), so it is renewed.
    if (current === undefined || current.spec.holderIdentity !== holder) throw lockLost(task, current);
    if (recentlyRenewed(current, at, duration)) return;
    const written = await kube.replace(
      lockLease({ name: LOCK_LEASE_NAME, holder, durationSeconds: duration, now: at, previous: current }),
    );
    if (written !== 'conflict' && written !== 'absent') return;
  }
  throw new TransientError(
    `cluster ${task.cluster}: the lock Lease changed ${MAX_ROUNDS} times while renewing it; try again`,
  );
}

function recentlyRenewed(lease: LeaseObject, at: Date, durationSeconds: number): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? '');
  return !Number.isNaN(renewed) && at.getTime() - renewed < (durationSeconds * 1000) / 3;
}

function lockLost(task: TaskRef, current: LeaseObject | undefined): LockLostError {
  const what =
    current === undefined
      ? 'its Lease is gone'
      : `task ${holderTask(current.spec.holderIdentity ?? '') || '(unknown)'} holds it now${lockTimesText(current)}`;
  return new LockLostError(
    `task ${task.name} no longer holds the lock of cluster ${task.cluster}: ${what}; stopped before writing`,
  );
}

function lockTimesText(lease: LeaseObject): string {
  const { since, expires } = lockTimes(lease);
  return ` (since ${since ?? '(unknown)'}, until ${expires ?? '(unknown)'} unless renewed)`;
}

export async function lock(deps: Dependencies, payload: unknown): Promise<{ lock: LockOutcome }> {
  const { action, task } = parseLockInput(payload);
  const kube = await deps.kube(task.cluster);
  const clock = () => now(deps);
  const duration = deps.settings.lockLeaseSeconds;
  let outcome: LockOutcome;
  if (action === 'release') outcome = await releaseLock(kube, task);
  else outcome = await acquireLock(kube, task, duration, clock, deps.log, action === 'renew');
  deps.log.info('lock', { action, outcome });
  return { lock: outcome };
}
