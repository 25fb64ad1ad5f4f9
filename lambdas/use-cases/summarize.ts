/**
 * Summarize task: the outcome in the original's status shape, written into the task object, and
 * told as Events on it (one per failed node, one for the task).
 */
import { TASK_NAMESPACE, type NodeResult, type SummarizeInput, type TaskSummary } from '../domain/contracts';
import { TaskObjectKeys, canonicalJson, taskEvent } from '../domain/k8s-objects';
import { summarize as summarizeResults } from '../domain/summary';
import { taskCompletedEvent } from '../events/product-events';
import type { Dependencies } from '../ports';
import {
  forEachLimited,
  now,
  parseList,
  parseNamed,
  parseTaskRef,
  PayloadError,
  record,
  requirePrepared,
} from './common';
import { holdLock } from './lock';
import { recordFinalStatus } from './node-task-object';

/** Events written at once: enough to be quick, few enough not to flood the apiserver. */
const EVENT_CONCURRENCY = 8;

function parseResult(value: unknown, what: string): NodeResult {
  const entry = record(value, what);
  const { name, ip } = parseNamed(entry, what);
  if (entry.state !== 'installed' && entry.state !== 'failed')
    throw new PayloadError(`${what}.state: expected installed or failed`);
  const result: NodeResult = { name, ip, state: entry.state };
  if (typeof entry.error === 'string') result.error = entry.error;
  if (typeof entry.reason === 'string') result.reason = entry.reason;
  return result;
}

export function parseSummarizeInput(payload: unknown): SummarizeInput {
  const body = record(payload, 'payload');
  return {
    task: parseTaskRef(body.task, 'payload.task'),
    results: parseList(body.results ?? [], 'payload.results', parseResult),
    skipped: parseList(body.skipped ?? [], 'payload.skipped', parseNamed),
  };
}

/**
 * Task Succeeded / Task Failed on the product bus. The outcome is already recorded in the cluster and
 * will be in the execution's result, so a bus that still refuses after the adapter's retries costs
 * only the notification: it is logged as an error, and the task is not failed for it.
 */
async function publishCompletion(
  deps: Dependencies,
  task: SummarizeInput['task'],
  summary: TaskSummary,
): Promise<void> {
  if (!deps.events) return;
  const event = taskCompletedEvent(task, summary);
  try {
    await deps.events.publish([event]);
  } catch (error) {
    deps.log.error('the completion event was not published', {
      detailType: event.detailType,
      errorName: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    });
  }
}

export async function summarize(deps: Dependencies, payload: unknown): Promise<TaskSummary> {
  const input = parseSummarizeInput(payload);
  const task = requirePrepared(input.task);
  const summary = summarizeResults(input);
  const kube = await deps.kube(task.cluster);
  await holdLock(deps, kube, task);

  const status = canonicalJson({ nodetaskStatus: summary.nodetaskStatus, nodeStatus: summary.nodeStatus });
  const patched = await kube.mergePatch(
    { kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: task.taskObject },
    { data: { [TaskObjectKeys.status]: status } },
  );
  if (patched === 'absent')
    deps.log.warn('the task object is gone; its status was not recorded', { taskObject: task.taskObject });
  await recordFinalStatus(deps, kube, { task, results: input.results, skipped: input.skipped, summary });

  const at = now(deps);
  const events = summary.failures.map((f) =>
    taskEvent({
      task,
      reason: 'NodeInstallFailed',
      message: `node ${f.name} (${f.ip}) was not installed: ${f.reason}`,
      key: f.name,
      now: at,
    }),
  );
  events.push(
    taskEvent({
      task,
      reason: summary.failed === 0 ? 'TaskSucceeded' : 'TaskFailed',
      message: summary.message,
      now: at,
    }),
  );
  if (patched !== 'absent')
    await forEachLimited(events, EVENT_CONCURRENCY, async (event) => void (await kube.create(event)));

  deps.metrics?.record('NodesInstalled', summary.installed, task.cluster);
  deps.metrics?.record('NodesFailed', summary.failed, task.cluster);
  await publishCompletion(deps, task, summary);

  deps.log.info('summarized', {
    installed: summary.installed,
    failed: summary.failed,
    skipped: summary.skipped,
  });
  return summary;
}
