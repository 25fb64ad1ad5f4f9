/**
 * The cluster lock: a Lease held by one execution at a time.
 */
import { TASK_NAMESPACE } from './contracts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './job-names';
import type { LeaseObject, ObjectMeta } from './kube-types';
import { microTime } from './kube-time';

export function lockHolder(taskName: string, executionName: string): string {
  return `${taskName}/${executionName}`;
}

/** The task named in a holder identity `<task>/<execution>`. */
export function holderTask(holder: string): string {
  const slash = holder.indexOf('/');
  return slash < 0 ? holder : holder.slice(0, slash);
}

export interface LockLeaseInput {
  name: string;
  holder: string;
  durationSeconds: number;
  now: Date;
  /** Set when taking over an existing Lease: its resourceVersion and transitions. */
  previous?: LeaseObject;
}

export function lockLease(input: LockLeaseInput): LeaseObject {
  const now = microTime(input.now);
  const previous = input.previous;
  const sameHolder = previous?.spec.holderIdentity === input.holder;
  const resourceVersion = previous?.metadata.resourceVersion;
  const metadata: ObjectMeta = {
    name: input.name,
    namespace: TASK_NAMESPACE,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
  };
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata,
    spec: {
      holderIdentity: input.holder,
      leaseDurationSeconds: input.durationSeconds,
      acquireTime: sameHolder && previous?.spec.acquireTime ? previous.spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec.leaseTransitions ?? 0) + (previous && !sameHolder ? 1 : 0),
    },
  };
}

/** Expired when its last renewal is older than its duration (a Lease without either is expired). */
export function leaseExpired(lease: LeaseObject, now: Date): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  const duration = lease.spec.leaseDurationSeconds;
  if (Number.isNaN(renewed) || duration === undefined) return true;
  return renewed + duration * 1000 <= now.getTime();
}
