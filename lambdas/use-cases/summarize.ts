/**
 * Summarize task: the outcome in the original's status shape, written into the task object, and
 * told as Events on it (one per failed node, one for the task).
 */
import { TASK_NAMESPACE, type NodeResult, type SummarizeInput, type TaskSummary } from '../domain/contracts';
import { canonicalJson } from '../domain/spec-digest';
import { taskEvent } from '../domain/task-events';
import { TaskObjectKeys } from '../domain/task-object';
import { summarize as summarizeResults, summaryForState } from '../domain/summary';
import { taskCompletedEvent } from '../domain/product-events';
import type { Dependencies, ObjectStore } from '../ports';
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
import { parseMapResultRef, parseWorkRef, readSkipped, requireObjects } from './work-store';
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
  if (Array.isArray(entry.replaced)) result.replaced = entry.replaced.filter((n) => typeof n === 'string');
  return result;
}

export function parseSummarizeInput(payload: unknown): SummarizeInput {
  const body = record(payload, 'payload');
  return {
    task: parseTaskRef(body.task, 'payload.task'),
    work: parseWorkRef(body.work, 'payload.work'),
    results: parseMapResultRef(body.results, 'payload.results'),
  };
}

function parseJsonText(text: unknown, what: string): unknown {
  if (typeof text !== 'string') throw new PayloadError(`${what}: expected JSON text`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PayloadError(`${what}: expected JSON text`);
  }
}

/**
 * One node's result from a result file's entry: a succeeded iteration's Output is the NodeResult
 * (every install failure is caught inside the iteration); an iteration that failed anyway (an error
 * no Catch saw, a time-out) is a failed node, named by its input.
 */
export function nodeResultOf(entry: unknown, what: string): NodeResult {
  const run = record(entry, what);
  if (run.Status === 'SUCCEEDED')
    return parseResult(parseJsonText(run.Output, `${what}.Output`), `${what}.Output`);
  const input = record(parseJsonText(run.Input, `${what}.Input`), `${what}.Input`);
  const { name, ip } = parseNamed(input.node, `${what}.Input.node`);
  return {
    name,
    ip,
    state: 'failed',
    error: typeof run.Error === 'string' ? run.Error : `States.${String(run.Status)}`,
    reason: typeof run.Cause === 'string' ? run.Cause : `the iteration ended ${String(run.Status)}`,
  };
}

/**
 * Every node's result, one result file at a time: the manifest lists the files (AWS splits them by
 * size), so memory holds one file and the bounded results, never the iterations' inputs at once.
 */
export async function readMapResults(
  objects: ObjectStore,
  ref: SummarizeInput['results'],
): Promise<NodeResult[]> {
  const manifestKey = ref.ResultWriterDetails.Key;
  const manifest = record(await objects.getJson(manifestKey), manifestKey);
  const files = record(manifest.ResultFiles ?? {}, `${manifestKey}.ResultFiles`);
  const results: NodeResult[] = [];
  for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
    const listed = parseList(files[status] ?? [], `${manifestKey}.ResultFiles.${status}`, (v, w) => {
      const file = record(v, w);
      if (typeof file.Key !== 'string' || file.Key === '')
        throw new PayloadError(`${w}.Key: expected an object key`);
      return file.Key;
    });
    for (const key of listed) {
      const entries = await objects.getJson(key);
      if (!Array.isArray(entries)) throw new PayloadError(`${key}: expected a list of executions`);
      entries.forEach((entry, i) => results.push(nodeResultOf(entry, `${key}[${i}]`)));
    }
  }
  return results;
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
  const kube = await deps.kube(task.cluster);
  await holdLock(deps, kube, task);
  const objects = requireObjects(deps);
  const results = await readMapResults(objects, input.results);
  if (results.length !== input.work.nodes)
    throw new PayloadError(
      `${input.results.ResultWriterDetails.Key}: expected ${input.work.nodes} results, found ${results.length}`,
    );
  const skipped = await readSkipped(deps, input.work);
  const summary = summarizeResults({ results, skipped });

  const status = canonicalJson({ nodetaskStatus: summary.nodetaskStatus, nodeStatus: summary.nodeStatus });
  const patched = await kube.mergePatch(
    { kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: task.taskObject },
    { data: { [TaskObjectKeys.status]: status } },
  );
  if (patched === 'absent')
    deps.log.warn('the task object is gone; its status was not recorded', { taskObject: task.taskObject });
  await recordFinalStatus(deps, kube, { task, results, skipped, summary });

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
  return summaryForState(summary);
}
