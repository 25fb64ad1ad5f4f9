import type {
  NodeResult,
  NodeStepInput,
  NodeWork,
  PlanOutput,
  TaskRef,
} from '../../lambdas/domain/contracts';
import { extractReason } from '../../lambdas/domain/summary';
import { StateNames } from '../../statemachine/state-names';
import type { Column } from '../output';
import type { WorkflowEvent } from './run-workflow';

/** One machine of the task as the run saw it. */
export interface NodeRow {
  name: string;
  ip: string;
  state: 'pending' | 'installing' | 'installed' | 'failed' | 'skipped';
  attempts: number;
  reason?: string;
}

/** Task-level states worth a line when they start. */
const TASK_STEPS: ReadonlySet<string> = new Set([
  StateNames.planTask,
  StateNames.takeClusterLock,
  StateNames.prepareCluster,
  StateNames.installNodes,
  StateNames.summarizeTask,
  StateNames.releaseCluster,
  StateNames.cleanUpAfterError,
]);

type StateEvent = Extract<WorkflowEvent, { state: unknown }>;

function clock(timestamp: number): string {
  const t = new Date(timestamp);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/**
 * Turns the execution's event log into progress lines ("[12:00:01] edge-ab12cd 172.21.3.194
 * installing (attempt 1)") and keeps every node's latest state for the final table. It reads only
 * names, addresses and reasons: the state data holds nothing secret (contracts.ts).
 */
export class ProgressTracker {
  private readonly nodes = new Map<string, NodeRow>();
  private latestTask: TaskRef | undefined;
  private holdsLock = false;

  /** The task as the latest task-level state left it (Prepare completes it). */
  get task(): TaskRef | undefined {
    return this.latestTask;
  }

  /** True between a successful Take cluster lock and the end of either cleanup state. */
  get lockHeld(): boolean {
    return this.holdsLock;
  }

  /** The line this event deserves, or undefined. */
  line(event: WorkflowEvent): string | undefined {
    if (!('state' in event)) return undefined;
    this.follow(event);
    const text = this.describe(event);
    return text === undefined ? undefined : `[${clock(event.timestamp)}] ${text}`;
  }

  /** Every node, in plan order. */
  rows(): NodeRow[] {
    return [...this.nodes.values()];
  }

  private follow(event: StateEvent): void {
    if (event.type !== 'StateExited' || event.index !== undefined) return;
    const { name } = event.state;
    const output = event.state.output as { task?: TaskRef } | null;
    if (name === StateNames.takeClusterLock) this.holdsLock = true;
    if (name === StateNames.releaseCluster || name === StateNames.cleanUpAfterError) this.holdsLock = false;
    if (output?.task && typeof output.task === 'object') this.latestTask = output.task;
  }

  private describe(event: StateEvent): string | undefined {
    const { name } = event.state;
    if (event.type === 'StateEntered')
      return TASK_STEPS.has(name) && event.index === undefined ? name : undefined;
    if (event.type === 'StateFailed')
      return name === StateNames.installNode ? this.attemptFailed(event) : undefined;
    if (event.type !== 'StateExited') return undefined;
    const output = event.state.output as unknown;
    switch (name) {
      case StateNames.planTask:
        return this.planned(output as PlanOutput);
      case StateNames.startInstall:
        return this.installing(output as NodeStepInput);
      case StateNames.recordSuccess:
      case StateNames.recordFailure:
        return this.finished(output as NodeResult);
      default:
        return undefined;
    }
  }

  private installing({ node, attempt }: NodeStepInput): string {
    const row = this.row(node);
    row.state = 'installing';
    row.attempts = attempt?.number ?? row.attempts + 1;
    return `${node.name} ${node.ip}  installing (attempt ${row.attempts})`;
  }

  private attemptFailed(event: Extract<WorkflowEvent, { type: 'StateFailed' }>): string {
    const { node } = event.state.input as unknown as NodeStepInput;
    const cause = typeof event.Cause === 'string' ? event.Cause : event.Error;
    return `${node.name} ${node.ip}  attempt ${this.row(node).attempts} failed: ${extractReason(cause)}`;
  }

  /** The lists are in the object store; a node's row appears when its install starts. */
  private planned(plan: PlanOutput): string {
    const skipped = plan.work.skipped > 0 ? `, ${plan.work.skipped} already installed` : '';
    return `task ${plan.task.name} on cluster ${plan.task.cluster}: ${plan.work.nodes} to install${skipped}`;
  }

  private finished(result: NodeResult): string {
    const row = this.row(result);
    row.state = result.state;
    if (result.state === 'installed') return `${result.name} ${result.ip}  installed`;
    row.reason = extractReason(result.reason ?? result.error);
    return `${result.name} ${result.ip}  failed: ${row.reason}`;
  }

  private row(node: Pick<NodeWork, 'name' | 'ip'>): NodeRow {
    let row = this.nodes.get(node.name);
    if (!row) {
      row = { name: node.name, ip: node.ip, state: 'pending', attempts: 0 };
      this.nodes.set(node.name, row);
    }
    return row;
  }
}

/** Columns of the final node table (cli/output.ts renders them). */
export const nodeColumns: ReadonlyArray<Column<NodeRow>> = [
  { header: 'name', value: (r) => r.name },
  { header: 'ip', value: (r) => r.ip },
  { header: 'state', value: (r) => r.state },
  { header: 'attempts', value: (r) => r.attempts },
  { header: 'reason', value: (r) => r.reason },
];
