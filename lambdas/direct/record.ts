/**
 * The record of a direct-mode install attempt, pure. In direct mode there is no Job: Start install
 * installs the machine itself, synchronously, and records the outcome in a per-node Lease that Check
 * install reads. The Lease is also the guard against two installs on one machine: while it is held
 * (renewed at the start, lasting the attempt's budget plus a margin) a second Start install for the
 * node — a Lambda retry, a States.Timeout, an earlier run still going — follows it instead of
 * installing again.
 */
import { PRODUCT_DOMAIN, TASK_NAMESPACE, type NodeWork } from '../domain/contracts';
import {
  ATTEMPT_LABEL,
  IP_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_ANNOTATION,
  NODE_HASH_LABEL,
  RUN_LABEL,
  TASK_LABEL,
  nodeHash,
  runHash,
  shortHash,
} from '../domain/job-names';
import { HOST_KEY_ANNOTATION, hostKeyText, parseHostKey, type HostKey } from '../domain/host-key-pin';
import { microTime } from '../domain/kube-time';
import type { LeaseObject } from '../domain/kube-types';
import { leaseExpired } from '../domain/lock-lease';
import { ownerReference, type PreparedTask } from '../domain/prepared-task';

export const OUTCOME_ANNOTATION = `${PRODUCT_DOMAIN}/outcome`;
export const REASON_ANNOTATION = `${PRODUCT_DOMAIN}/reason`;
/** Seconds the attempt may take (its Lease lasts longer by DIRECT_LEASE_MARGIN_SECONDS). */
export const BUDGET_ANNOTATION = `${PRODUCT_DOMAIN}/budget-seconds`;

/** How long the record outlives the attempt's budget: time to write the outcome after the install. */
export const DIRECT_LEASE_MARGIN_SECONDS = 30;
/** A recorded reason is one line; the task summary cuts it further. */
const MAX_REASON = 1000;

export type DirectOutcome = 'running' | 'succeeded' | 'failed';

/** `pd-<task hash>-<node hash>`: one record per task and node, across runs, so a live one is seen. */
export function directRecordName(taskName: string, nodeName: string): string {
  return `pd-${shortHash(taskName)}-${nodeHash(nodeName)}`;
}

export function holderOf(executionId: string, attempt: number): string {
  return `${runHash(executionId)}/${attempt}`;
}

export interface DirectAttemptInput {
  task: PreparedTask;
  node: NodeWork;
  attempt: number;
  budgetSeconds: number;
  now: Date;
  /** The record being taken over: its resourceVersion makes the write conditional. */
  previous?: LeaseObject;
}

/** The record of an attempt that starts now. */
export function directAttemptLease(input: DirectAttemptInput): LeaseObject {
  const { task, node, attempt, now } = input;
  const at = microTime(now);
  const resourceVersion = input.previous?.metadata.resourceVersion;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: directRecordName(task.name, node.name),
      namespace: TASK_NAMESPACE,
      ...(resourceVersion ? { resourceVersion } : {}),
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [TASK_LABEL]: task.name,
        [NODE_HASH_LABEL]: nodeHash(node.name),
        [RUN_LABEL]: runHash(task.executionId),
        [ATTEMPT_LABEL]: String(attempt),
      },
      annotations: {
        [NODE_ANNOTATION]: node.name,
        [IP_ANNOTATION]: node.ip,
        [OUTCOME_ANNOTATION]: 'running',
        [BUDGET_ANNOTATION]: String(input.budgetSeconds),
      },
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      holderIdentity: holderOf(task.executionId, attempt),
      leaseDurationSeconds: input.budgetSeconds + DIRECT_LEASE_MARGIN_SECONDS,
      acquireTime: at,
      renewTime: at,
    },
  };
}

export interface Finish {
  outcome: 'succeeded' | 'failed';
  /** One line, for a failure. */
  reason?: string | undefined;
  /** When the install ended: the renewTime, so acquireTime → renewTime is its duration. */
  at: Date;
  /** The host key trusted on first use by a succeeded install, for Check install to pin. */
  hostKey?: HostKey;
}

/** The same record, finished: the outcome and, for a failure, its one-line reason. */
export function finishedLease(lease: LeaseObject, finish: Finish): LeaseObject {
  const annotations: Record<string, string> = {
    ...lease.metadata.annotations,
    [OUTCOME_ANNOTATION]: finish.outcome,
  };
  delete annotations[REASON_ANNOTATION];
  if (finish.hostKey !== undefined) annotations[HOST_KEY_ANNOTATION] = hostKeyText(finish.hostKey);
  if (finish.reason !== undefined) {
    const line = finish.reason.replace(/\s+/g, ' ').trim();
    annotations[REASON_ANNOTATION] = line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
  }
  return {
    ...lease,
    metadata: { ...lease.metadata, annotations },
    spec: { ...lease.spec, renewTime: microTime(finish.at) },
  };
}

export interface DirectAttemptState {
  /** Run hash of the execution that made the attempt. */
  run: string;
  attempt: number;
  /** `expired`: still marked running after its Lease ran out — the Lambda that ran it is gone. */
  outcome: DirectOutcome | 'expired';
  reason?: string;
  budgetSeconds: number;
  holder: string;
  /** Seconds from the start of a finished attempt to its end. */
  durationSeconds?: number;
  /** The host key a succeeded attempt trusted on first use. */
  hostKey?: HostKey;
}

function outcomeOf(lease: LeaseObject, now: Date): DirectAttemptState['outcome'] {
  const recorded = lease.metadata.annotations?.[OUTCOME_ANNOTATION];
  if (recorded === 'succeeded' || recorded === 'failed') return recorded;
  return leaseExpired(lease, now) ? 'expired' : 'running';
}

/** acquireTime → renewTime of a finished attempt (finishedLease sets renewTime to its end). */
function durationOf(lease: LeaseObject): number | undefined {
  const started = Date.parse(lease.spec.acquireTime ?? '');
  const ended = Date.parse(lease.spec.renewTime ?? '');
  return Number.isNaN(started) || Number.isNaN(ended) || ended < started
    ? undefined
    : (ended - started) / 1000;
}

/** With the key a succeeded attempt trusted on first use, when it recorded one. */
function withRecordedHostKey(
  state: DirectAttemptState,
  annotations: Record<string, string>,
): DirectAttemptState {
  const text = annotations[HOST_KEY_ANNOTATION];
  const hostKey = state.outcome === 'succeeded' && text !== undefined ? parseHostKey(text) : undefined;
  return hostKey === undefined ? state : { ...state, hostKey };
}

export function readDirectAttempt(lease: LeaseObject, now: Date): DirectAttemptState {
  const labels = lease.metadata.labels ?? {};
  const annotations = lease.metadata.annotations ?? {};
  const outcome = outcomeOf(lease, now);
  const attempt = Number(labels[ATTEMPT_LABEL]);
  const budget = Number(annotations[BUDGET_ANNOTATION]);
  const state: DirectAttemptState = {
    run: labels[RUN_LABEL] ?? '',
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 0,
    outcome,
    budgetSeconds: Number.isFinite(budget) ? budget : 0,
    holder: lease.spec.holderIdentity ?? '',
  };
  const reason = annotations[REASON_ANNOTATION];
  if (reason !== undefined) state.reason = reason;
  const duration = durationOf(lease);
  if ((outcome === 'succeeded' || outcome === 'failed') && duration !== undefined)
    state.durationSeconds = duration;
  return withRecordedHostKey(state, annotations);
}

/** The reason of an attempt that ended without reporting back, worded like a Job past its deadline. */
export function expiredReason(state: Pick<DirectAttemptState, 'budgetSeconds'>): string {
  return `the attempt exceeded its deadline of ${state.budgetSeconds} s (it never reported an outcome)`;
}

export type NextDirectStep =
  | { kind: 'follow'; attempt: number }
  | { kind: 'start'; attempt: number }
  | { kind: 'exhausted'; attempts: number; lastReason: string };

/**
 * What Start install does given the node's record. This run's attempt that is running or succeeded
 * is followed (a retried call must not install twice); another run's is followed only while it runs.
 * A failed or expired attempt of this run counts; the next starts unless the task's limit is reached.
 */
export function nextDirectStep(
  lease: LeaseObject | undefined,
  executionId: string,
  maxAttempts: number,
  now: Date,
): NextDirectStep {
  if (lease === undefined) return { kind: 'start', attempt: 1 };
  const state = readDirectAttempt(lease, now);
  const ours = state.run === runHash(executionId);
  if (!ours)
    return state.outcome === 'running'
      ? { kind: 'follow', attempt: state.attempt }
      : { kind: 'start', attempt: 1 };
  if (state.outcome === 'running' || state.outcome === 'succeeded')
    return { kind: 'follow', attempt: state.attempt };
  if (state.attempt >= maxAttempts) {
    const lastReason =
      state.outcome === 'expired' ? expiredReason(state) : (state.reason ?? 'no reason recorded');
    return { kind: 'exhausted', attempts: state.attempt, lastReason };
  }
  return { kind: 'start', attempt: state.attempt + 1 };
}
