/**
 * How the remote verbs show tasks, nodes and events: kubectl-like tables and a describe page. Pure:
 * every function takes the API's answer and the current time and returns text.
 */
import { renderTable, type Column } from '../output';
import type { NodeDetail, TaskDetail, TaskEvent, TaskListItem } from './api-types';

/** kubectl's age: one or two units, coarser as the duration grows. */
export function age(since: string | undefined, now: Date): string | undefined {
  if (since === undefined) return undefined;
  const start = Date.parse(since);
  if (Number.isNaN(start)) return undefined;
  return humanDuration(Math.max(0, now.getTime() - start) / 1000);
}

export function humanDuration(totalSeconds: number): string {
  const s = Math.floor(totalSeconds);
  const m = Math.floor(s / 60);
  const h = Math.floor(s / 3600);
  const d = Math.floor(s / 86_400);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** One row per task: `get nodetasks` and `get nodetask NAME` alike. */
export interface TaskRow {
  name: string;
  cluster?: string;
  status?: string;
  total?: number;
  installed?: number;
  failed?: number;
  executionStatus?: string;
  executionArn?: string;
  startDate?: string;
}

export function taskColumns(now: Date): Array<Column<TaskRow>> {
  return [
    { header: 'name', value: (r) => r.name },
    { header: 'cluster', value: (r) => r.cluster },
    { header: 'status', value: (r) => r.status },
    { header: 'nodes', value: (r) => r.total },
    { header: 'installed', value: (r) => r.installed },
    { header: 'failed', value: (r) => r.failed },
    { header: 'age', value: (r) => age(r.startDate, now) },
    { header: 'execution', value: (r) => r.executionStatus, wide: true },
    { header: 'execution-arn', value: (r) => r.executionArn, wide: true },
  ];
}

export function rowFromListItem(item: TaskListItem): TaskRow {
  return {
    name: item.name,
    cluster: item.cluster,
    status: item.nodetaskStatus,
    total: item.total,
    installed: item.installed,
    failed: item.failed,
    executionStatus: item.executionStatus,
    executionArn: item.executionArn,
    startDate: item.startDate,
  };
}

export function rowFromDetail(detail: TaskDetail, cluster: string | undefined): TaskRow {
  const progress = detail.status?.progress;
  return {
    name: detail.metadata.name,
    cluster: clusterOf(detail, cluster),
    status: detail.status?.nodetaskStatus,
    total: progress?.total,
    installed: progress?.installed,
    failed: progress?.failed,
    executionStatus: detail.execution?.status,
    executionArn: detail.execution?.arn,
    startDate: detail.execution?.startDate,
  };
}

/** The cluster a task ran on: as the server says, as asked, or as its spec names it. */
export function clusterOf(detail: TaskDetail, asked: string | undefined): string | undefined {
  const fromSpec = detail.spec?.cluster;
  return detail.cluster ?? asked ?? (typeof fromSpec === 'string' ? fromSpec : undefined);
}

export const nodeColumns: ReadonlyArray<Column<NodeDetail>> = [
  { header: 'name', value: (n) => n.name },
  { header: 'ip', value: (n) => n.ip },
  { header: 'state', value: (n) => n.state },
  { header: 'attempts', value: (n) => n.attempts },
  { header: 'reason', value: (n) => n.reason },
];

/** AGE of an event: its last occurrence, and for a repeated one how often over how long (kubectl's form). */
export function eventAge(event: TaskEvent, now: Date): string | undefined {
  const last = age(event.lastTimestamp ?? event.firstTimestamp, now);
  if (last === undefined || (event.count ?? 1) <= 1) return last;
  const first = age(event.firstTimestamp, now);
  return first === undefined ? `${last} (x${event.count})` : `${last} (x${event.count} over ${first})`;
}

/** Newest last, as kubectl shows them. */
export function sortEvents(events: readonly TaskEvent[]): TaskEvent[] {
  const time = (e: TaskEvent) => Date.parse(e.lastTimestamp ?? e.firstTimestamp ?? '') || 0;
  return [...events].sort((a, b) => time(a) - time(b));
}

export function eventColumns(now: Date): Array<Column<TaskEvent>> {
  return [
    { header: 'type', value: (e) => e.type },
    { header: 'reason', value: (e) => e.reason },
    { header: 'age', value: (e) => eventAge(e, now) },
    { header: 'message', value: (e) => e.message },
  ];
}

/** camelCase → "Camel Case", as kubectl describe titles fields. */
function title(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function scalar(value: unknown): string {
  if (value === null || value === undefined || value === '') return '<none>';
  if (typeof value === 'string') return value.replace(/\s+/g, ' ');
  return JSON.stringify(value);
}

/** Key–value lines, nested maps indented, lists of scalars joined with commas. */
function fields(record: Record<string, unknown>, indent: string): string[] {
  const entries = Object.entries(record);
  const width = Math.max(0, ...entries.map(([k]) => title(k).length + 1));
  const lines: string[] = [];
  for (const [key, value] of entries) {
    const label = `${title(key)}:`;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(`${indent}${label}`);
      // Map keys (node names, label keys) are data: shown as they are, not titled.
      const nested = Object.entries(value as Record<string, unknown>);
      const keyWidth = Math.max(0, ...nested.map(([k]) => k.length + 1));
      for (const [k, v] of nested) lines.push(`${indent}  ${`${k}:`.padEnd(keyWidth)}  ${scalar(v)}`);
      continue;
    }
    const text = Array.isArray(value)
      ? value.length
        ? value.map(scalar).join(', ')
        : '<none>'
      : scalar(value);
    lines.push(`${indent}${label.padEnd(width)}  ${text}`);
  }
  return lines;
}

function indented(text: string, indent: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `${indent}${line}`);
}

function progressLine(detail: TaskDetail): string {
  const p = detail.status?.progress;
  if (!p) return '<none>';
  return `${p.installed ?? 0}/${p.total ?? 0} installed, ${p.failed ?? 0} failed, ${p.pending ?? 0} pending`;
}

function timeWithAge(time: string | undefined, now: Date): string {
  if (time === undefined) return '<none>';
  const ago = age(time, now);
  return ago === undefined ? time : `${time} (${ago} ago)`;
}

/** `describe nodetask`: the task, its execution, every node and the recent events. */
export function describeTask(
  detail: TaskDetail,
  events: readonly TaskEvent[] | undefined,
  cluster: string | undefined,
  now: Date,
): string {
  const lines: string[] = [
    ...fields(
      {
        name: detail.metadata.name,
        cluster: clusterOf(detail, cluster),
        apiVersion: detail.apiVersion,
        kind: detail.kind,
      },
      '',
    ),
    'Spec:',
    ...fields(detail.spec ?? {}, '  '),
    'Status:',
    ...fields({ nodetaskStatus: detail.status?.nodetaskStatus, progress: progressLine(detail) }, '  '),
    'Execution:',
    ...fields(
      {
        status: detail.execution?.status,
        started: timeWithAge(detail.execution?.startDate, now),
        stopped: timeWithAge(detail.execution?.stopDate, now),
        arn: detail.execution?.arn,
      },
      '  ',
    ),
  ];
  const nodes = detail.status?.nodes ?? [];
  lines.push('Nodes:');
  lines.push(...(nodes.length ? indented(renderTable(nodes, nodeColumns), '  ') : ['  <none>']));
  lines.push('Events:');
  if (events === undefined) lines.push('  <unavailable>');
  else if (events.length === 0) lines.push('  <none>');
  else lines.push(...indented(renderTable(sortEvents(events), eventColumns(now)), '  '));
  return `${lines.join('\n')}\n`;
}
