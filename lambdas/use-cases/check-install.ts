/**
 * Check install: how the attempt's Job stands (in direct mode, the attempt's record). A finished
 * install is not enough: the Node must have registered; it then gets the task's label (how
 * completion is judged) and its site, the machine's old Nodes under other names are deleted, and an
 * Event records it, in both modes alike.
 */
import { TASK_NAMESPACE, type AttemptRef, type CheckOutput, type NodeWork } from '../domain/contracts';
import type { JobObject, NodeObject } from '../domain/kube-types';
import { nodeInternalIps } from '../domain/node-status';
import type { PreparedTask } from '../domain/prepared-task';
import { taskEvent } from '../domain/task-events';
import { installedNodePatch } from '../domain/ownership';
import {
  attemptErrorNames,
  attemptFailedError,
  ErrorNames,
  InstallFailedError,
  InstallRunningError,
  NodeNotRegisteredError,
  TransientError,
} from '../errors';
import { nextAttemptDelaySeconds, type NodeChange } from '../domain/node-events';
import { finalFailureOf } from '../domain/final-failures';
import type { Dependencies, Kube } from '../ports';
import { now, parseNodeStepInput, PayloadError, requirePrepared } from './common';
import { directAttemptPhase } from '../direct/install';
import { failureReason, jobPhase } from './job-status';
import { holdLock } from './lock';
import { recordNodeEvent } from './node-events';
import { recordNodeProgress } from './node-task-object';
import { jobReportedHostKey, machinePin } from './host-key-pin';
import { hostKeyAnnotations, type HostKey } from '../domain/host-key-pin';
import { observedInstallSeconds } from '../domain/install-wait';

/** Seconds from the Job's start to its completion, as the Job controller recorded them. */
export function installDurationSeconds(job: JobObject): number | undefined {
  const status = job.status;
  const started = Date.parse(status?.startTime ?? '');
  const completed = Date.parse(status?.completionTime ?? '');
  if (Number.isNaN(started) || Number.isNaN(completed) || completed < started) return undefined;
  return (completed - started) / 1000;
}

function recordInstallMetrics(
  deps: Dependencies,
  cluster: string,
  seconds: number | undefined,
  attempts: number,
): void {
  if (!deps.metrics) return;
  deps.metrics.record('Attempts', attempts, cluster);
  if (seconds !== undefined) deps.metrics.record('InstallDurationSeconds', seconds, cluster);
}

/** A finished install: what it was (for messages) and how long it took, when known. */
interface Settled {
  what: string;
  durationSeconds?: number;
  /** How long the task waited for it, from Start install on: the next installs' first wait. */
  observedSeconds?: number;
  /** The host key the install trusted on first use, to be pinned on the Node. */
  hostKey?: HostKey;
}

/** The attempt's Job: still running, succeeded, or failed (thrown as InstallFailedError). */
async function jobSettled(kube: Kube, node: NodeWork, attempt: AttemptRef): Promise<Settled | 'Running'> {
  const job = await kube.get<JobObject>({ kind: 'Job', namespace: TASK_NAMESPACE, name: attempt.job });
  if (job === undefined) {
    throw new InstallFailedError(
      `node ${node.name} (${node.ip}): install Job ${attempt.job} disappeared (deleted by someone, or its task object was deleted)`,
    );
  }
  const phase = jobPhase(job);
  if (phase === 'Running') return 'Running';
  if (phase === 'Failed') {
    const reason = await failureReason(kube, job);
    throw attemptFailedError(
      `node ${node.name} (${node.ip}) attempt ${attempt.number}: ${reason}`,
      finalFailureOf(reason),
    );
  }
  const durationSeconds = installDurationSeconds(job);
  const observedSeconds = observedInstallSeconds(job);
  const hostKey = await jobReportedHostKey(kube, job);
  return {
    what: `install Job ${attempt.job}`,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(observedSeconds === undefined ? {} : { observedSeconds }),
    ...(hostKey === undefined ? {} : { hostKey }),
  };
}

/**
 * Deletes the machine's old Nodes under other names, now that it has been reached, authenticated,
 * checked and joined again. A Node that no longer stands at the machine's address is left alone:
 * it changed since Plan judged it. Each deletion is an Event and part of the node's result.
 */
async function deleteReplacedNodes(
  deps: Dependencies,
  kube: Kube,
  task: PreparedTask,
  node: NodeWork,
): Promise<string[]> {
  const gone: string[] = [];
  for (const name of node.replaces ?? []) {
    const old = await kube.get<NodeObject>({ kind: 'Node', name });
    if (old === undefined) {
      gone.push(name);
      continue;
    }
    if (name === node.name || !nodeInternalIps(old).includes(node.ip)) {
      deps.log.warn('kept an old Node that no longer stands at the machine address', { oldNode: name });
      continue;
    }
    const rv = old.metadata.resourceVersion;
    const outcome = await kube.delete(
      { kind: 'Node', name },
      rv === undefined ? {} : { resourceVersion: rv },
    );
    if (outcome === 'conflict') throw new TransientError(`Node ${name} changed while it was being replaced`);
    gone.push(name);
    await kube.create(
      taskEvent({
        task,
        reason: 'NodeReplaced',
        message: `deleted Node ${name} (${node.ip}): the machine joined again as ${node.name}${node.proxyNode ? ` through ${node.proxyNode}` : ''}`,
        key: `replaced-${name}`,
        now: now(deps),
      }),
    );
    deps.log.info('deleted the old Node after the machine joined again', { oldNode: name, outcome });
  }
  return gone;
}

/** The attempt's outcome; a failed attempt is shown in the NodeTask's status before it is thrown. */
async function attemptSettled(
  deps: Dependencies,
  kube: Kube,
  task: PreparedTask,
  node: NodeWork,
  attempt: AttemptRef,
): Promise<Settled | 'Running'> {
  try {
    return task.mode === 'direct'
      ? await directAttemptPhase(deps, kube, node, attempt)
      : await jobSettled(kube, node, attempt);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const nodeTask = await recordNodeProgress(deps, kube, task, node.name, {
      ip: node.ip,
      state: 'failed',
      attempts: attempt.number,
      reason,
    });
    await recordNodeEvent(deps, kube, {
      nodeTask,
      task,
      node,
      change: failedAttempt(deps, task, attempt, error, reason),
    });
    throw error;
  }
}

/** A failed attempt: retried by the workflow while attempts are left and the failure may pass. */
function failedAttempt(
  deps: Dependencies,
  task: PreparedTask,
  attempt: AttemptRef,
  error: unknown,
  failure: string,
): NodeChange {
  const retried =
    error instanceof Error &&
    [...attemptErrorNames, ErrorNames.Transient].includes(error.name) &&
    attempt.number < task.maxAttempts;
  if (!retried) return { reason: 'GaveUp', attempt: attempt.number, failure };
  return {
    reason: 'Retrying',
    attempt: attempt.number,
    maxAttempts: task.maxAttempts,
    failure,
    nextDelaySeconds: nextAttemptDelaySeconds(
      attempt.number,
      deps.settings.attemptIntervalSeconds,
      deps.settings.attemptMaxDelaySeconds,
    ),
  };
}

export async function checkInstall(deps: Dependencies, payload: unknown): Promise<CheckOutput> {
  const input = parseNodeStepInput(payload);
  const task = requirePrepared(input.task);
  const { node, attempt } = input;
  if (!attempt) throw new PayloadError('payload.attempt: expected the AttemptRef of Start install');
  const kube = await deps.kube(task.cluster);
  await holdLock(deps, kube, task);

  const settled = await attemptSettled(deps, kube, task, node, attempt);
  if (settled === 'Running') {
    throw new InstallRunningError(
      `node ${node.name} (${node.ip}): attempt ${attempt.number} is still running`,
    );
  }

  // The key trusted on first use is pinned; a machine installed under a pin keeps it on its new Node.
  const pin = settled.hostKey ?? (await machinePin(kube, node));
  const patched = await kube.mergePatch<NodeObject>(
    { kind: 'Node', name: node.name },
    installedNodePatch(task.labelValue, node.proxyNode, hostKeyAnnotations(pin)),
  );
  if (patched === 'absent') {
    throw new NodeNotRegisteredError(
      `node ${node.name} (${node.ip}): the ${settled.what} succeeded but no Node ${node.name} registered yet`,
    );
  }
  const replaced = await deleteReplacedNodes(deps, kube, task, node);
  const event = taskEvent({
    task,
    reason: 'NodeInstalled',
    message: `node ${node.name} (${node.ip}) joined the cluster${node.proxyNode ? ` through ${node.proxyNode}` : ''} (attempt ${attempt.number})`,
    key: node.name,
    now: now(deps),
  });
  await kube.create(event);
  // Direct mode's record times the install itself, from its start: the same span as a Job's.
  const observed = settled.observedSeconds ?? settled.durationSeconds;
  const nodeTask = await recordNodeProgress(deps, kube, task, node.name, {
    ip: node.ip,
    state: 'installed',
    attempts: attempt.number,
    ...(observed === undefined ? {} : { installSeconds: Math.ceil(observed) }),
  });
  await recordNodeEvent(deps, kube, {
    nodeTask,
    task,
    node,
    change: { reason: 'Installed', attempt: attempt.number },
  });
  recordInstallMetrics(deps, task.cluster, settled.durationSeconds, attempt.number);
  deps.log.info('node installed', { attempt: attempt.number });
  return { phase: 'Succeeded', replaced };
}
