/**
 * The sync: `kubectl apply -f nodetask.yaml` as a door (ADR 0032). For every registered cluster it
 * lists the NodeTasks and acts on each as domain/node-task-sync.ts decides: a new one is started
 * through the same path as POST /tasks (use-cases/start-task.ts: the same checks, the same execution
 * names), its finalizer added first; one being deleted has its run stopped and cleaned up through
 * the cancel path before the finalizer goes; an invalid one gets a `Ready=False` condition naming
 * the field paths and is never started.
 *
 * Run twice, it does the same: a NodeTask once started carries its execution in its status (Prepare
 * writes it) and, until then, an execution named after it; conditions are written only when they
 * change. Each run is bounded: at most one start per cluster (a cluster runs one task at a time, and
 * the next sync starts the next), and at most MAX_WRITES_PER_CLUSTER other writes.
 */
import { executionPrefix } from '../domain/execution-names';
import type { NodeTask } from '../domain/node-task';
import { NODE_TASK_KIND } from '../domain/node-task-kind';
import {
  hasSyncFinalizer,
  notStartedCondition,
  syncDecision,
  withSyncFinalizer,
  type ListedNodeTask,
} from '../domain/node-task-sync';
import { PenetratorError } from '../errors';
import type { Kube } from '../ports';
import { stopAndRemoveTask, type CancelDependencies } from './cancel-task';
import { PayloadError, now, record } from './common';
import { startTask } from './start-task';

/** Writes (conditions, finalizers, cancels) per cluster and run; the rest waits for the next run. */
export const MAX_WRITES_PER_CLUSTER = 20;
/** Tries of a finalizer write that met a concurrent change. */
const MAX_ROUNDS = 5;
export const DELETED_CAUSE = 'the NodeTask was deleted (kubectl delete nt)';

export type SyncDependencies = CancelDependencies;

export interface ClusterSync {
  cluster: string;
  /** NodeTask → execution name. */
  started: Record<string, string>;
  /** Stopped and cleaned up, or simply let go, after `kubectl delete nt`. */
  released: string[];
  /** Not started: NodeTask → the condition's reason (InvalidSpec, ClusterBusy, …). */
  refused: Record<string, string>;
  /** Left for a later run: the cluster runs a task, or this run's writes are spent. */
  waiting: string[];
  /** The cluster could not be synced (unreachable, refused credentials); the others were. */
  error?: string;
}

export interface SyncResult {
  clusters: ClusterSync[];
}

function shortName(error: PenetratorError): string {
  return error.name.replace(/^Penetrator\./, '');
}

function ref(name: string) {
  return { kind: NODE_TASK_KIND, name } as const;
}

/** Says on the NodeTask why it was not started; nothing is written when it says so already. */
async function writeNotStarted(
  deps: SyncDependencies,
  kube: Kube,
  nodeTask: ListedNodeTask,
  reason: string,
  message: string,
): Promise<boolean> {
  const condition = notStartedCondition(nodeTask, reason, message, now(deps));
  if (condition === undefined) return false;
  await kube.patchStatus(ref(nodeTask.metadata.name), { conditions: [condition] });
  return true;
}

/** Adds or removes the finalizer on the version last read, reading again after a concurrent change. */
async function setFinalizer(
  kube: Kube,
  listed: ListedNodeTask,
  present: boolean,
): Promise<ListedNodeTask | 'absent'> {
  let current: ListedNodeTask | undefined = listed;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (current === undefined) return 'absent';
    if (hasSyncFinalizer(current) === present) return current;
    const replaced = await kube.replace<ListedNodeTask>({
      ...current,
      metadata: { ...current.metadata, finalizers: withSyncFinalizer(current, present) },
    });
    if (replaced === 'absent') return 'absent';
    if (replaced !== 'conflict') return replaced;
    current = await kube.get<ListedNodeTask>(ref(listed.metadata.name));
  }
  throw new Error(`NodeTask ${listed.metadata.name} kept changing while its finalizer was written`);
}

/** `kubectl delete nt`: a run that goes on is stopped and cleaned up (the cancel path), then the finalizer goes. */
async function release(
  deps: SyncDependencies,
  kube: Kube,
  cluster: string,
  nodeTask: ListedNodeTask,
): Promise<void> {
  const name = nodeTask.metadata.name;
  const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
  if (executions.some((e) => e.status === 'RUNNING')) {
    await stopAndRemoveTask(deps, name, cluster, DELETED_CAUSE);
  }
  // An ended run cleaned up after itself; what it owned goes with the NodeTask (ADR 0022).
  await setFinalizer(kube, nodeTask, false);
}

type StartOutcome =
  | { outcome: 'started'; executionName: string }
  | { outcome: 'refused'; reason: string }
  | { outcome: 'waiting' };

/**
 * The NodeTask carries our finalizer but no execution in its status: either a run was started and
 * has not reached Prepare yet, or it ended before (refused by Plan or the lock), or none was started.
 * Only the last is started (again); the one that ended says why on the NodeTask.
 */
async function earlierRun(
  deps: SyncDependencies,
  cluster: string,
  name: string,
): Promise<'none' | 'running' | { ended: string; status: string }> {
  const executions = await deps.workflow.list({ namePrefix: executionPrefix(cluster, name) });
  if (executions.length === 0) return 'none';
  if (executions.some((e) => e.status === 'RUNNING')) return 'running';
  const last = executions[0]!;
  return { ended: last.name, status: last.status };
}

async function start(
  deps: SyncDependencies,
  kube: Kube,
  cluster: string,
  nodeTask: ListedNodeTask,
  decision: { task: NodeTask; marked: boolean },
): Promise<StartOutcome> {
  const name = nodeTask.metadata.name;
  if (decision.marked) {
    const earlier = await earlierRun(deps, cluster, name);
    if (earlier === 'running') return { outcome: 'waiting' };
    if (earlier !== 'none') {
      await writeNotStarted(
        deps,
        kube,
        nodeTask,
        'RunEnded',
        `execution ${earlier.ended} ended ${earlier.status} before it reached the cluster; ` +
          `delete the NodeTask and apply it again to run it again`,
      );
      return { outcome: 'refused', reason: 'RunEnded' };
    }
  }
  const marked = await setFinalizer(kube, nodeTask, true);
  if (marked === 'absent') return { outcome: 'waiting' };
  try {
    const started = await startTask(deps, { task: decision.task, cluster });
    return { outcome: 'started', executionName: started.executionName };
  } catch (error) {
    if (!(error instanceof PenetratorError) || error.retryable) throw error;
    const reason = shortName(error);
    await writeNotStarted(deps, kube, marked, reason, error.message);
    return { outcome: 'refused', reason };
  }
}

/** What one pass over a cluster has done so far: the bounds are counted across its NodeTasks. */
interface Pass {
  kube: Kube;
  result: ClusterSync;
  writes: number;
  startedOne: boolean;
  clusterRuns?: boolean;
}

async function startOrWait(
  deps: SyncDependencies,
  pass: Pass,
  nodeTask: ListedNodeTask,
  decision: { task: NodeTask; marked: boolean },
): Promise<void> {
  const { cluster } = pass.result;
  const name = nodeTask.metadata.name;
  // One task at a time per cluster: a run just started has not taken the lock yet.
  pass.clusterRuns ??=
    (await deps.workflow.list({ status: 'RUNNING', namePrefix: `${cluster}--` })).length > 0;
  if (pass.startedOne || pass.clusterRuns) {
    pass.result.waiting.push(name);
    return;
  }
  pass.writes++;
  const outcome = await start(deps, pass.kube, cluster, nodeTask, decision);
  if (outcome.outcome === 'started') {
    pass.startedOne = true;
    pass.result.started[name] = outcome.executionName;
  } else if (outcome.outcome === 'refused') {
    pass.result.refused[name] = outcome.reason;
  } else {
    pass.result.waiting.push(name);
  }
}

async function syncOne(deps: SyncDependencies, pass: Pass, nodeTask: ListedNodeTask): Promise<void> {
  const name = nodeTask.metadata.name;
  const decision = syncDecision(nodeTask, pass.result.cluster);
  if (decision.action === 'leave') return;
  if (pass.writes >= MAX_WRITES_PER_CLUSTER) {
    pass.result.waiting.push(name);
    return;
  }
  if (decision.action === 'release') {
    pass.writes++;
    await release(deps, pass.kube, pass.result.cluster, nodeTask);
    pass.result.released.push(name);
  } else if (decision.action === 'refuse') {
    const message = decision.problems.join('; ');
    if (await writeNotStarted(deps, pass.kube, nodeTask, 'InvalidSpec', message)) pass.writes++;
    pass.result.refused[name] = 'InvalidSpec';
  } else {
    await startOrWait(deps, pass, nodeTask, decision);
  }
}

async function syncCluster(deps: SyncDependencies, cluster: string): Promise<ClusterSync> {
  const result: ClusterSync = { cluster, started: {}, released: [], refused: {}, waiting: [] };
  const kube = await deps.kube(cluster);
  if (!(await kube.serves(NODE_TASK_KIND))) return result;
  const nodeTasks = await kube.list<ListedNodeTask>({ kind: NODE_TASK_KIND });
  // Oldest first: NodeTasks applied one after the other start in that order.
  nodeTasks.sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
  );
  const pass: Pass = { kube, result, writes: 0, startedOne: false };
  for (const nodeTask of nodeTasks) await syncOne(deps, pass, nodeTask);
  return result;
}

/**
 * The schedule's event is the Lambda's only caller: anything else is refused before a cluster or
 * the state machine is asked anything.
 */
export function checkScheduledEvent(event: unknown): void {
  const body = record(event, 'event');
  if (body.source !== 'aws.events' || body['detail-type'] !== 'Scheduled Event') {
    throw new PayloadError('event: expected the schedule\'s "Scheduled Event" from aws.events');
  }
}

/** One pass over every registered cluster; a cluster that fails is reported and the others go on. */
export async function syncNodeTasks(deps: SyncDependencies): Promise<SyncResult> {
  const clusters: ClusterSync[] = [];
  for (const cluster of await deps.clusters.list()) {
    try {
      const synced = await syncCluster(deps, cluster);
      clusters.push(synced);
      if (Object.keys(synced.started).length + synced.released.length > 0) {
        deps.log.info('nodetasks synced', { ...synced });
      }
    } catch (error) {
      const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      deps.log.error('a cluster could not be synced', {
        cluster,
        errorName: error instanceof Error ? error.name : 'Error',
        errorMessage: message,
      });
      clusters.push({ cluster, started: {}, released: [], refused: {}, waiting: [], error: message });
    }
  }
  return { clusters };
}
