/**
 * Typed errors. Each class carries a literal `name` that is also the Step Functions error name, so
 * `Retry`/`Catch` in statemachine/ match on it (`ErrorEquals`). Names never come from
 * `constructor.name`: bundlers rename classes, and the bundle is built with keepNames only as a
 * second line of defence.
 *
 * Retryable errors are transient (apiserver unavailable, throttling); fatal errors describe a task
 * that cannot succeed as submitted. Messages must never contain secret material.
 */

import type { FinalFailure } from './domain/final-failures';

export const ErrorNames = {
  /** The NodeTask document is invalid; the message lists every problem with its field path. */
  InvalidNodeTask: 'Penetrator.InvalidNodeTask',
  /** The named cluster is not registered, or its kubeconfig cannot be used. */
  ClusterNotFound: 'Penetrator.ClusterNotFound',
  /** The SSH credential is missing or holds neither `passwd` nor `sshkey`. */
  CredentialInvalid: 'Penetrator.CredentialInvalid',
  /** A proxy node is absent or not Ready. */
  ProxyNodeNotReady: 'Penetrator.ProxyNodeNotReady',
  /** Another task holds the cluster's lock; the message names it, since when, and when it expires. */
  ClusterBusy: 'Penetrator.ClusterBusy',
  /**
   * The task no longer holds the cluster's lock (its Lease expired and another task took it, or it
   * was deleted): the step stopped before writing anything. Not retried.
   */
  LockLost: 'Penetrator.LockLost',
  /** A task with this name exists already (a task cannot be updated) or runs already. */
  TaskConflict: 'Penetrator.TaskConflict',
  /**
   * A target is not the task's to install: a proxy or control-plane node, another site's Node, a
   * machine another task is installing. Raised by Plan before anything is created or deleted.
   */
  TargetRefused: 'Penetrator.TargetRefused',
  /** The cluster's kube-public/cluster-info is missing or unusable. */
  ClusterInfoInvalid: 'Penetrator.ClusterInfoInvalid',
  /** One install attempt on one node failed; retried by the per-node Retry. */
  InstallFailed: 'Penetrator.InstallFailed',
  /** The machine's architecture is not amd64 or arm64: the node fails at once, no retry. */
  UnsupportedArchitecture: 'Penetrator.UnsupportedArchitecture',
  /** The machine refused the SSH credential: the node fails at once, no retry. */
  LoginRefused: 'Penetrator.LoginRefused',
  /** The machine's host key is not the one in known_hosts: the node fails at once, no retry. */
  HostKeyRejected: 'Penetrator.HostKeyRejected',
  /**
   * Another install holds the machine (its lock, held on the machine itself for reset and join):
   * this one started nothing there, and the node ends at once so that the two never overlap.
   */
  MachineBusy: 'Penetrator.MachineBusy',
  /**
   * The install package's bytes differ from the sha256 the deployment names, where it was fetched or
   * found or on the target: nothing ran on the machine, and the node fails at once, no retry.
   */
  PackageChecksumMismatch: 'Penetrator.PackageChecksumMismatch',
  /** The install Job succeeded but the Node did not register in time; retried like InstallFailed. */
  NodeNotRegistered: 'Penetrator.NodeNotRegistered',
  /** The task's own attempt limit (spec.maxAttempts) is reached; not retried, carries the last reason. */
  AttemptsExhausted: 'Penetrator.AttemptsExhausted',
  /** The apiserver or an AWS API failed transiently; retried at the task level. */
  Transient: 'Penetrator.Transient',
  /**
   * The install is still running: not a failure. Check install's own Retry looks again with backoff
   * (ADR 0029), one state transition per look instead of a Wait, a Task and a Choice.
   */
  InstallRunning: 'Penetrator.InstallRunning',
  /** The NodeTask CRD cannot be installed over the one in the cluster without harm. */
  CrdRefused: 'Penetrator.CrdRefused',
  /** At least one node could not be installed; raised by the final Fail state. */
  NodesFailed: 'Penetrator.NodesFailed',

  // Names outside the workflow's Retry/Catch, kept here so that no two errors share one by accident.
  /** A state's input, built by the workflow itself, is malformed: a wiring bug, never retried. */
  InvalidPayload: 'Penetrator.InvalidPayload',
  /** The Lambda's runtime settings (its environment) are invalid. */
  SettingsError: 'Penetrator.SettingsError',
  /** An API request is malformed (its body, a path or query parameter); the message names what. */
  RequestInvalid: 'Penetrator.RequestInvalid',
  /** The API knows no task of that name in the cluster. */
  TaskNotFound: 'Penetrator.TaskNotFound',
  /** A cluster of that name is registered already and the request did not ask to replace it. */
  ClusterExists: 'Penetrator.ClusterExists',
  /** The task would make an execution input larger than Step Functions accepts. */
  InputTooLarge: 'Penetrator.InputTooLarge',
  /** Recorded by Step Functions for an execution stopped through the API. */
  Cancelled: 'Penetrator.Cancelled',
  /** A reinstall event cannot start a task as sent; nothing was started. */
  ReinstallRefused: 'Penetrator.ReinstallRefused',
  /** The product's RBAC cannot be applied without taking over an object someone else manages. */
  RbacRefused: 'Penetrator.RbacRefused',
} as const;

export type ErrorName = (typeof ErrorNames)[keyof typeof ErrorNames];

export abstract class PenetratorError extends Error {
  abstract override readonly name: ErrorName;
  /** Whether Step Functions should retry the state that threw it. */
  abstract readonly retryable: boolean;
}

/** The message of an error that lists problems: a heading, then one indented line per problem. */
export function problemsMessage(heading: string, problems: readonly string[]): string {
  return `${heading}:\n${problems.map((p) => `  ${p}`).join('\n')}`;
}

/** A refusal that lists every problem at once, so the caller fixes them in one round. */
abstract class ProblemsError extends PenetratorError {
  readonly retryable = false;
  constructor(
    heading: string,
    readonly problems: readonly string[],
  ) {
    super(problemsMessage(heading, problems));
  }
}

/**
 * A refusal that says what was wrong and, in `hint`, what to do about it. The HTTP layer
 * (lambdas/api/http.ts) maps their names to statuses; nothing here knows HTTP.
 */
abstract class Refusal extends PenetratorError {
  readonly retryable = false;
  constructor(
    message: string,
    /** What the caller can do about it, when there is something to say. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class InvalidNodeTaskError extends ProblemsError {
  override readonly name = ErrorNames.InvalidNodeTask;
  constructor(problems: readonly string[]) {
    super('invalid NodeTask', problems);
  }
}

export class ClusterNotFoundError extends Refusal {
  override readonly name = ErrorNames.ClusterNotFound;
}

export class CredentialInvalidError extends PenetratorError {
  override readonly name = ErrorNames.CredentialInvalid;
  readonly retryable = false;
}

export class ProxyNodeNotReadyError extends PenetratorError {
  override readonly name = ErrorNames.ProxyNodeNotReady;
  readonly retryable = false;
}

/** When a lock Lease was taken and when it runs out unless renewed (ISO times), for messages. */
export interface LockTimes {
  since?: string;
  expires?: string;
}

function lockTimesText(times: LockTimes): string {
  const parts = [
    ...(times.since ? [`since ${times.since}`] : []),
    ...(times.expires ? [`until ${times.expires} unless renewed`] : []),
  ];
  return parts.length > 0 ? ` (holding the lock ${parts.join(', ')})` : '';
}

export class ClusterBusyError extends PenetratorError {
  override readonly name = ErrorNames.ClusterBusy;
  readonly retryable = false;
  constructor(
    readonly cluster: string,
    readonly holder: string,
    readonly times: LockTimes = {},
  ) {
    super(
      `cluster ${cluster} is busy: task ${holder} is running${lockTimesText(times)}; wait for it to end, ` +
        'or, if its run died, for the lock to expire',
    );
  }
}

export class LockLostError extends PenetratorError {
  override readonly name = ErrorNames.LockLost;
  readonly retryable = false;
}

export class TaskConflictError extends Refusal {
  override readonly name = ErrorNames.TaskConflict;
}

export class TargetRefusedError extends ProblemsError {
  override readonly name = ErrorNames.TargetRefused;
  constructor(problems: readonly string[]) {
    super('refused before anything was deleted', problems);
  }
}

export class ClusterInfoInvalidError extends PenetratorError {
  override readonly name = ErrorNames.ClusterInfoInvalid;
  readonly retryable = false;
}

export class InstallFailedError extends PenetratorError {
  override readonly name = ErrorNames.InstallFailed;
  readonly retryable = true;
}

/** An attempt failed in a way no retry changes (domain/final-failures.ts). */
export class UnsupportedArchitectureError extends PenetratorError {
  override readonly name = ErrorNames.UnsupportedArchitecture;
  readonly retryable = false;
}

export class LoginRefusedError extends PenetratorError {
  override readonly name = ErrorNames.LoginRefused;
  readonly retryable = false;
}

export class HostKeyRejectedError extends PenetratorError {
  override readonly name = ErrorNames.HostKeyRejected;
  readonly retryable = false;
}

export class MachineBusyError extends PenetratorError {
  override readonly name = ErrorNames.MachineBusy;
  readonly retryable = false;
}

export class PackageChecksumMismatchError extends PenetratorError {
  override readonly name = ErrorNames.PackageChecksumMismatch;
  readonly retryable = false;
}

/** The error for a failed attempt: a final one when no retry can change it, else InstallFailed. */
export function attemptFailedError(message: string, kind: FinalFailure | undefined): PenetratorError {
  switch (kind) {
    case 'UnsupportedArchitecture':
      return new UnsupportedArchitectureError(message);
    case 'LoginRefused':
      return new LoginRefusedError(message);
    case 'HostKeyRejected':
      return new HostKeyRejectedError(message);
    case 'MachineBusy':
      return new MachineBusyError(message);
    case 'PackageChecksumMismatch':
      return new PackageChecksumMismatchError(message);
    default:
      return new InstallFailedError(message);
  }
}

export class NodeNotRegisteredError extends PenetratorError {
  override readonly name = ErrorNames.NodeNotRegistered;
  readonly retryable = true;
}

export class AttemptsExhaustedError extends PenetratorError {
  override readonly name = ErrorNames.AttemptsExhausted;
  readonly retryable = false;
}

/** Thrown by Check install while the attempt runs, so that its Retry, not a loop of states, waits. */
export class InstallRunningError extends PenetratorError {
  override readonly name = ErrorNames.InstallRunning;
  readonly retryable = true;
}

export class TransientError extends PenetratorError {
  override readonly name = ErrorNames.Transient;
  readonly retryable = true;
}

export class CrdRefusedError extends ProblemsError {
  override readonly name = ErrorNames.CrdRefused;
  constructor(problems: readonly string[]) {
    super('the NodeTask CRD cannot be installed', problems);
  }
}

export class RbacRefusedError extends PenetratorError {
  override readonly name = ErrorNames.RbacRefused;
  readonly retryable = false;
}

export class RequestInvalidError extends Refusal {
  override readonly name = ErrorNames.RequestInvalid;
  constructor(
    message: string,
    hint?: string,
    /** Every problem, when there are several (a kubeconfig's). */
    readonly problems?: readonly string[],
  ) {
    super(message, hint);
  }
}

export class TaskNotFoundError extends Refusal {
  override readonly name = ErrorNames.TaskNotFound;
}

export class ClusterExistsError extends Refusal {
  override readonly name = ErrorNames.ClusterExists;
}

export class InputTooLargeError extends Refusal {
  override readonly name = ErrorNames.InputTooLarge;
}

/**
 * The event cannot start a reinstall as sent: its detail is malformed, a named node does not
 * exist, or no proxy node can be decided. Nothing was started; retrying the same event cannot help.
 */
export class ReinstallRefusedError extends ProblemsError {
  override readonly name = ErrorNames.ReinstallRefused;
  constructor(problems: readonly string[]) {
    super('reinstall refused', problems);
  }
}

/** Errors whose retry belongs to Step Functions at the level of one Lambda call. */
export const transientErrorNames: readonly string[] = [
  ErrorNames.Transient,
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Errors that end one node's install attempt and are retried by the per-node Retry. */
export const attemptErrorNames: readonly string[] = [ErrorNames.InstallFailed, ErrorNames.NodeNotRegistered];
