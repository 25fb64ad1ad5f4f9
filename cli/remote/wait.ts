/**
 * `apply --wait`: polls a task's status until its execution ends, printing a line whenever a node
 * changes state and whenever the totals move. Bounded in time; an interrupt stops the waiting, not
 * the task.
 */
import { CliError, EXIT_FAILURE } from '../output';
import type { ApiClient } from './api-client';
import { ApiError } from './api-errors';
import type { NodeDetail, TaskDetail } from './api-types';
import type { RemoteIo } from './connect';

export interface WaitOptions {
  intervalMs: number;
  /** Give up after this long; the task keeps running. */
  timeoutMs: number;
  /**
   * The task object appears only once the workflow's Prepare state ran: until then GET answers 404.
   * Longer than this, and the execution most likely failed before that (a busy cluster, say).
   */
  notFoundGraceMs: number;
  signal?: AbortSignal;
}

export type WaitResult = { outcome: 'finished'; detail: TaskDetail } | { outcome: 'interrupted' };

function clock(time: Date): string {
  return [time.getHours(), time.getMinutes(), time.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** Remembers what was shown, so only changes are printed. */
export class ProgressPrinter {
  private readonly seen = new Map<string, string>();
  private totals = '';

  constructor(private readonly io: RemoteIo) {}

  show(detail: TaskDetail): void {
    const at = `[${clock(this.io.now())}]`;
    for (const node of detail.status?.nodes ?? []) {
      const key = `${node.state}/${node.attempts ?? 0}`;
      if (this.seen.get(node.name) === key) continue;
      this.seen.set(node.name, key);
      this.io.stderr(`${at} ${node.name} ${node.ip}  ${nodeText(node)}\n`);
    }
    const totals = totalsText(detail);
    if (totals === undefined || totals === this.totals) return;
    this.totals = totals;
    this.io.stderr(`${at} ${totals}\n`);
  }
}

function totalsText(detail: TaskDetail): string | undefined {
  const p = detail.status?.progress;
  if (!p) return undefined;
  return `${p.installed ?? 0}/${p.total ?? 0} installed, ${p.failed ?? 0} failed, ${p.pending ?? 0} pending`;
}

function nodeText(node: NodeDetail): string {
  const attempt = node.attempts ? ` (attempt ${node.attempts})` : '';
  if (node.state === 'failed') return `failed${attempt}: ${node.reason ?? 'no reason given'}`;
  return `${node.state}${node.state === 'installed' ? '' : attempt}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function waitForTask(
  client: ApiClient,
  task: { name: string; cluster?: string; executionArn?: string },
  io: RemoteIo,
  options: WaitOptions,
): Promise<WaitResult> {
  const printer = new ProgressPrinter(io);
  const start = Date.now();
  let lastSeen = start;
  for (;;) {
    if (options.signal?.aborted) return { outcome: 'interrupted' };
    const detail = await poll(client, task);
    if (detail) {
      lastSeen = Date.now();
      printer.show(detail);
      if (ended(detail)) return { outcome: 'finished', detail };
    } else if (Date.now() - lastSeen > options.notFoundGraceMs) {
      throw neverAppeared(task);
    }
    if (Date.now() - start + options.intervalMs > options.timeoutMs)
      throw stillRunning(task, options.timeoutMs);
    await sleep(options.intervalMs, options.signal);
  }
}

function ended(detail: TaskDetail): boolean {
  const status = detail.execution?.status;
  return status !== undefined && status !== 'RUNNING';
}

function neverAppeared(task: { name: string; cluster?: string; executionArn?: string }): CliError {
  return new CliError(
    `nodetask/${task.name} did not appear on cluster ${task.cluster ?? '(default)'}`,
    EXIT_FAILURE,
    `its execution may have ended before creating it: open ${task.executionArn ?? 'the execution'} in the Step Functions console`,
  );
}

function stillRunning(task: { name: string; cluster?: string }, timeoutMs: number): CliError {
  return new CliError(
    `nodetask/${task.name} is still running after ${Math.round(timeoutMs / 1000)} s; stopped waiting`,
    EXIT_FAILURE,
    `follow it with: penetrator describe nodetask ${task.name}${task.cluster ? ` --cluster ${task.cluster}` : ''}`,
  );
}

async function poll(
  client: ApiClient,
  task: { name: string; cluster?: string },
): Promise<TaskDetail | undefined> {
  try {
    return await client.getTask(task.name, task.cluster);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}
