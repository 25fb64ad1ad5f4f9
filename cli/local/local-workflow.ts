/**
 * The Workflow port over local runs: what StartExecution, ListExecutions, DescribeExecution and
 * StopExecution are to a deployment, the local runner is to `penetrator sync` (and to tests that
 * drive a door's use-case): each started execution runs the deployed definition in this process
 * (run-workflow.ts) until it ends or is stopped.
 */
import type { WorkflowInput } from '../../lambdas/domain/contracts';
import type {
  ExecutionDetail,
  ExecutionInfo,
  ExecutionStatus,
  StartResult,
  Workflow,
} from '../../lambdas/ports';
import type { LocalRuntime } from './local-runtime';
import {
  localExecutionArn,
  runWorkflowLocally,
  type RunWorkflowOptions,
  type WorkflowRunResult,
} from './run-workflow';

interface LocalExecution {
  info: ExecutionInfo;
  input: WorkflowInput;
  controller: AbortController;
  result: Promise<WorkflowRunResult>;
}

export interface LocalWorkflowOptions extends Pick<
  RunWorkflowOptions,
  'pollSeconds' | 'retryIntervalSeconds' | 'onEvent'
> {
  /**
   * Told when an execution ends, with how; the execution counts as ended once this settles (what
   * the execution-status-change rule does in AWS belongs here).
   */
  onEnd?: (execution: ExecutionInfo, result: WorkflowRunResult) => Promise<void>;
}

export class LocalWorkflow implements Workflow {
  private readonly executions = new Map<string, LocalExecution>();

  constructor(
    private readonly runtime: Pick<LocalRuntime, 'definition' | 'handlers' | 'objects'>,
    private readonly options: LocalWorkflowOptions = {},
  ) {}

  start(executionName: string, input: WorkflowInput): Promise<StartResult> {
    if (this.executions.has(executionName)) return Promise.resolve({ outcome: 'conflict' });
    const controller = new AbortController();
    const info: ExecutionInfo = {
      arn: localExecutionArn(executionName),
      name: executionName,
      status: 'RUNNING',
      startDate: new Date().toISOString(),
    };
    const { onEnd, ...runOptions } = this.options;
    const run = runWorkflowLocally({
      definition: this.runtime.definition,
      handlers: this.runtime.handlers,
      objects: this.runtime.objects,
      input,
      executionName,
      signal: controller.signal,
      ...runOptions,
    }).catch((error: unknown): WorkflowRunResult => ({
      status: 'FAILED',
      error: 'Local.RunnerError',
      cause: error instanceof Error ? error.message : String(error),
      transitions: 0,
      parentEvents: 0,
      executionId: info.arn,
    }));
    const result = run.then(async (ended) => {
      info.status = ended.status;
      info.stopDate = new Date().toISOString();
      await onEnd?.({ ...info }, ended).catch(() => undefined);
      return ended;
    });
    this.executions.set(executionName, { info, input, controller, result });
    return Promise.resolve({ outcome: 'started', arn: info.arn, startDate: info.startDate });
  }

  list(query: { status?: ExecutionStatus; namePrefix?: string } = {}): Promise<ExecutionInfo[]> {
    const found = [...this.executions.values()]
      .map((e) => ({ ...e.info }))
      .filter(
        (e) => e.name.startsWith(query.namePrefix ?? '') && (!query.status || e.status === query.status),
      );
    // Newest first, as ListExecutions answers.
    return Promise.resolve(found.reverse());
  }

  describe(executionArn: string): Promise<ExecutionDetail | undefined> {
    const found = this.byArn(executionArn);
    return Promise.resolve(found && { ...found.info, input: found.input });
  }

  /** Stops the run where it is, as StopExecution does; its cleanup is the caller's (the cancel path). */
  async stop(executionArn: string): Promise<'stopped' | 'not-running'> {
    const found = this.byArn(executionArn);
    if (found === undefined || found.info.status !== 'RUNNING') return 'not-running';
    found.controller.abort();
    await found.result;
    return 'stopped';
  }

  /** Every execution still running, for a caller that must not leave before they end. */
  running(): Promise<WorkflowRunResult>[] {
    return [...this.executions.values()].filter((e) => e.info.status === 'RUNNING').map((e) => e.result);
  }

  /** Stops every execution still running (the process is leaving). */
  async stopAll(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.info.status === 'RUNNING');
    for (const e of running) e.controller.abort();
    await Promise.all(running.map((e) => e.result));
  }

  private byArn(arn: string): LocalExecution | undefined {
    return [...this.executions.values()].find((e) => e.info.arn === arn);
  }
}
