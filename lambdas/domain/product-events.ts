/**
 * The product's events on its EventBridge bus: their source, detail types and the pure builders of
 * their details. Shared by the Lambdas (which publish and consume them) and infra/ (whose rules
 * match them), so a name is written once.
 */
import type { NodeResult, TaskRef, TaskSummary } from './contracts';
import type { ProductEvent } from '../ports';

export const EVENT_SOURCE = 'penetrator';

export const DetailTypes = {
  reinstallNodes: 'Reinstall Nodes',
  taskSucceeded: 'Task Succeeded',
  taskFailed: 'Task Failed',
} as const;

/** Environment variable holding the bus name of the summarize Lambda's publisher. */
export const EVENT_BUS_ENV = 'PENETRATOR_EVENT_BUS';
/** Default name of the product's bus. */
export const DEFAULT_EVENT_BUS_NAME = 'penetrator';

/**
 * EventBridge refuses an entry above 256 KiB. A task of 1000 failed nodes with long reasons would
 * pass that, so failures beyond this budget are counted instead of listed.
 */
export const MAX_DETAIL_BYTES = 200 * 1024;

export interface TaskCompletedDetail {
  task: string;
  cluster: string;
  installed: number;
  failed: number;
  failures: Array<Pick<NodeResult, 'name' | 'ip'> & { reason: string }>;
  executionArn: string;
  /** Present only when failures had to be cut to fit an event: how many are not listed. */
  failuresOmitted?: number;
}

/** "Task Succeeded" when every node is installed, else "Task Failed", with the per-node failures. */
export function taskCompletedEvent(
  task: Pick<TaskRef, 'name' | 'cluster' | 'executionId'>,
  summary: Pick<TaskSummary, 'installed' | 'failed' | 'failures'>,
): ProductEvent {
  const detail: TaskCompletedDetail = {
    task: task.name,
    cluster: task.cluster,
    installed: summary.installed,
    failed: summary.failed,
    failures: summary.failures.map((f) => ({ name: f.name, ip: f.ip, reason: f.reason })),
    executionArn: task.executionId,
  };
  fitFailures(detail);
  return {
    detailType: summary.failed === 0 ? DetailTypes.taskSucceeded : DetailTypes.taskFailed,
    detail: detail as unknown as Record<string, unknown>,
  };
}

function fitFailures(detail: TaskCompletedDetail): void {
  let size = Buffer.byteLength(JSON.stringify(detail), 'utf8');
  if (size <= MAX_DETAIL_BYTES) return;
  const all = detail.failures.length;
  // Room for the `"failuresOmitted":<n>` field added below.
  const budget = MAX_DETAIL_BYTES - 32;
  while (detail.failures.length > 0 && size > budget) {
    const dropped = detail.failures.pop()!;
    size -= Buffer.byteLength(JSON.stringify(dropped), 'utf8') + 1;
  }
  detail.failuresOmitted = all - detail.failures.length;
}
