/**
 * Start install: one attempt of one node. An attempt already under way (or done) is adopted, never
 * doubled: two installs on one machine at once would corrupt it. Otherwise the next attempt's Job is
 * created. Nothing is deleted here: old Nodes go only once the machine has joined (Check install).
 */
import { TASK_NAMESPACE, type AttemptRef, type NodeWork } from '../domain/contracts';
import { RUN_LABEL, nodeJobsSelector, runHash } from '../domain/job-names';
import { installJob } from '../domain/install-job';
import type { JobObject, NodeObject, PodObject } from '../domain/kube-types';
import { nodeInternalIps } from '../domain/node-status';
import type { PreparedTask } from '../domain/prepared-task';
import { AttemptsExhaustedError, TransientError } from '../errors';
import type { Dependencies, Kube } from '../ports';
import { parseNodeStepInput, requirePrepared } from './common';
import { startDirectInstall } from '../direct/install';
import { failureReason, jobAttempt, jobPhase } from './job-status';
import { holdLock } from './lock';
import { machineSelector, withMachineLabel } from '../domain/machine-key';
import { recordNodeEvent } from './node-events';
import { recordNodeProgress } from './node-task-object';
import { machinePin } from './host-key-pin';
import { withPinnedHostKey } from '../domain/host-key-pin';
import { firstWaitSeconds } from '../domain/install-wait';
import type { NodeTaskStatus } from '../domain/node-task-status';

/** Job names carry the attempt in two digits. */
const MAX_ATTEMPT = 99;

function byAttemptDescending(a: JobObject, b: JobObject): number {
  return jobAttempt(b) - jobAttempt(a);
}

/**
 * An earlier run of this task whose install Job succeeded, when the machine's Node stands registered
 * under the node's name at its address: the run died before labelling it. That Job is followed
 * (Check install labels the Node) instead of resetting and joining the machine again.
 */
async function joinedByEarlierRun(
  kube: Kube,
  jobs: readonly JobObject[],
  ours: readonly JobObject[],
  node: NodeWork,
): Promise<JobObject | undefined> {
  // Only before this run's first attempt: after it, this run's own Jobs tell the story.
  if (ours.length > 0) return undefined;
  const succeeded = jobs.find((j) => jobPhase(j) === 'Succeeded');
  if (succeeded === undefined) return undefined;
  const registered = await kube.get<NodeObject>({ kind: 'Node', name: node.name });
  return registered && nodeInternalIps(registered).includes(node.ip) ? succeeded : undefined;
}

/**
 * A next attempt starts only once every earlier install's Pod on the machine has ended: the Job
 * controller marks a Job failed (FailureTarget) while its Pod may still be terminating, its ssh
 * session still open, and two installs on one machine must never overlap. Keyed by the machine
 * (domain/machine-key.ts), so an install of it by another task, run or node name counts too; and by
 * this node's name, for Pods made before Jobs carried the machine. Transient: the retry waits.
 */
async function requireEarlierPodsEnded(kube: Kube, task: PreparedTask, node: NodeWork): Promise<void> {
  const selectors = [nodeJobsSelector(task.name, node.name), machineSelector(node)];
  const pods: PodObject[] = [];
  for (const labelSelector of selectors) {
    pods.push(...(await kube.list<PodObject>({ kind: 'Pod', namespace: TASK_NAMESPACE, labelSelector })));
  }
  const live = pods.find(
    (p) => p.metadata.deletionTimestamp !== undefined || !ENDED_PHASES.has(p.status?.phase ?? ''),
  );
  if (live === undefined) return;
  const state =
    live.metadata.deletionTimestamp === undefined ? (live.status?.phase ?? 'Pending') : 'terminating';
  throw new TransientError(
    `node ${node.name} (${node.ip}): Pod ${live.metadata.name} of an earlier install of the machine is still ${state}; the next attempt waits for it to end`,
  );
}

const ENDED_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

export async function startInstall(deps: Dependencies, payload: unknown): Promise<AttemptRef> {
  const input = parseNodeStepInput(payload);
  const task: PreparedTask = requirePrepared(input.task);
  const { node } = input;
  const kube = await deps.kube(task.cluster);
  await holdLock(deps, kube, task);
  // Direct mode installs from here, now; it keeps its own record instead of Jobs.
  if (task.mode === 'direct') return withFirstWait(task, await startDirectInstall(deps, task, node));

  const jobs = (
    await kube.list<JobObject>({
      kind: 'Job',
      namespace: TASK_NAMESPACE,
      labelSelector: nodeJobsSelector(task.name, node.name),
    })
  ).sort(byAttemptDescending);
  const run = runHash(task.executionId);
  const ours = jobs.filter((j) => j.metadata.labels?.[RUN_LABEL] === run);
  // This run's attempt, running or done, is the one to follow. An earlier run's Job is followed only
  // while it still runs (two installs on one machine must never overlap), or when it succeeded and
  // the Node stands registered at the machine's address; otherwise a new attempt starts.
  const live =
    ours.find((j) => jobPhase(j) !== 'Failed') ??
    jobs.find((j) => !ours.includes(j) && jobPhase(j) === 'Running');
  if (live) {
    deps.log.info('adopted an existing install Job', { adopted: live.metadata.name, phase: jobPhase(live) });
    return withFirstWait(task, { job: live.metadata.name, number: jobAttempt(live) });
  }
  const joined = await joinedByEarlierRun(kube, jobs, ours, node);
  if (joined) {
    deps.log.info('adopted the Node an earlier run joined', { adopted: joined.metadata.name });
    return withFirstWait(task, { job: joined.metadata.name, number: jobAttempt(joined) });
  }

  const last = ours[0];
  const done = ours.length === 0 ? 0 : jobAttempt(last!);
  if (last !== undefined && (ours.length >= task.maxAttempts || done >= MAX_ATTEMPT)) {
    const reason = await failureReason(kube, last);
    throw new AttemptsExhaustedError(
      `node ${node.name} (${node.ip}): ${ours.length} of ${task.maxAttempts} attempts failed; last: ${reason}`,
    );
  }

  await requireEarlierPodsEnded(kube, task, node);
  const number = done + 1;
  // A machine installed before accepts only its pinned host key (install.sh checks it strictly).
  const pin = await machinePin(kube, node);
  const built = installJob({
    task,
    node,
    attempt: number,
    image: deps.settings.installerImage,
    imagePullPolicy: deps.settings.imagePullPolicy,
    packageSource: deps.settings.packageSource,
    ttlSecondsAfterFinished: deps.settings.jobTtlSecondsAfterFinished,
  });
  const job = withPinnedHostKey(withMachineLabel(built, node), pin);
  const created = await kube.create(job);
  const nodeTask = await recordNodeProgress(deps, kube, task, node.name, {
    ip: node.ip,
    state: 'installing',
    attempts: number,
  });
  await recordNodeEvent(deps, kube, {
    nodeTask,
    task,
    node,
    change: {
      reason: 'Installing',
      attempt: number,
      maxAttempts: task.maxAttempts,
      proxyNode: node.proxyNode,
    },
  });
  deps.log.info(created.outcome === 'created' ? 'created the install Job' : 'adopted the install Job', {
    job: job.metadata.name,
    attempt: number,
    hostKeyPinned: pin !== undefined,
  });
  return withFirstWait(task, { job: job.metadata.name, number }, nodeTask?.status);
}

/**
 * The attempt with the wait before its first check: as long as the task's last finished install
 * took, read from the status this call wrote anyway (no request of its own); the task's poll
 * interval before any has finished, or when the status is not kept (ADR 0029).
 */
function withFirstWait(task: PreparedTask, attempt: AttemptRef, status?: NodeTaskStatus): AttemptRef {
  const waitSeconds = firstWaitSeconds({
    ...(status?.installSeconds === undefined ? {} : { observedSeconds: status.installSeconds }),
    pollSeconds: task.pollSeconds,
    attemptTimeoutSeconds: task.attemptTimeoutSeconds,
  });
  return { ...attempt, waitSeconds };
}
