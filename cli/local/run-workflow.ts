import './promise-with-resolvers';
import {
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import type { LambdaName, WorkflowHandler, WorkflowInput } from '../../lambdas/domain/contracts';
import type { ObjectStore } from '../../lambdas/ports';
import { stateLambda } from '../../statemachine/state-names';
import { distributedMapStore } from './distributed-map';

/**
 * Runs the deployed state machine definition in-process with aws-local-stepfunctions: every Task
 * state calls its handler directly instead of a Lambda, everything else (Map, Parallel, Retry,
 * Catch, Choice, Wait) is executed as Step Functions would.
 */

export type WorkflowEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface RunWorkflowOptions {
  definition: object;
  input: WorkflowInput;
  handlers: Record<LambdaName, WorkflowHandler>;
  /** Execution name, part of `$$.Execution.Id`. Default: `local-<time>-<random>`. */
  executionName?: string;
  /** Overrides every Wait state's duration (seconds, fractions allowed). */
  pollSeconds?: number;
  /** Replaces every Retry's IntervalSeconds (seconds, fractions allowed); backoff and jitter are kept. */
  retryIntervalSeconds?: number;
  /**
   * The store behind the Distributed Map's ItemReader and ResultWriter: the handlers' own (the same
   * directory), so the Map reads what Plan wrote and Summarize reads what the Map wrote.
   */
  objects: ObjectStore;
  /** Receives every event of the execution log, nested Map and Parallel events included. */
  onEvent?: (event: WorkflowEvent) => void;
  signal?: AbortSignal;
}

export interface WorkflowRunResult {
  status: ExecutionStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  /** States entered plus retries: what Step Functions counts (and bills) as state transitions. */
  transitions: number;
  /**
   * Events of the execution's own history. A Distributed Map's iterations are child executions
   * with histories of their own (AWS keeps at most 25,000 events per execution): their events, and
   * the per-iteration start and end, are not the parent's.
   */
  parentEvents: number;
  executionId: string;
}

type AslState = Record<string, unknown> & { Type?: string; Retry?: Array<Record<string, unknown>> };
type AslMachine = { States?: Record<string, AslState> };

/** Every state of a definition, with those nested in Parallel branches and Map item processors. */
function* allStates(machine: AslMachine): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    yield [name, state];
    for (const branch of (state.Branches as AslMachine[] | undefined) ?? []) yield* allStates(branch);
    const processor = (state.ItemProcessor ?? state.Iterator) as AslMachine | undefined;
    if (processor) yield* allStates(processor);
  }
}

/**
 * What AWS Lambda reports for an unhandled error, and therefore what Step Functions puts in the
 * error output's Cause. The local run keeps that shape so code reading Cause behaves as in AWS.
 */
export interface LambdaErrorEnvelope {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** The message inside a Cause: the Lambda envelope's errorMessage, or the Cause itself. */
export function causeMessage(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  try {
    const parsed = JSON.parse(cause) as Partial<LambdaErrorEnvelope>;
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not an envelope: a Cause written by a Fail state or by Step Functions itself.
  }
  return cause;
}

/** The thrown value as the runtime reports it: its `name` becomes the Step Functions error name. */
function asTaskError(thrown: unknown): Error {
  const name =
    thrown instanceof Error && typeof thrown.name === 'string' && thrown.name ? thrown.name : 'Error';
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  const envelope: LambdaErrorEnvelope = { errorType: name, errorMessage: message, trace: [] };
  const error = new Error(JSON.stringify(envelope));
  error.name = name;
  return error;
}

type JsonValue = Parameters<StateMachine['run']>[0];

function taskOverrides(machine: AslMachine, handlers: Record<LambdaName, WorkflowHandler>) {
  const overrides: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
  for (const [name, state] of allStates(machine)) {
    if (state.Type !== 'Task') continue;
    const lambda = stateLambda[name];
    const handler = lambda ? handlers[lambda] : undefined;
    if (!lambda || !handler) {
      throw new Error(
        `no handler for Task state "${name}": received Lambda ${lambda ?? '(none in stateLambda)'}; ` +
          'expected a handler for every Lambda the definition invokes',
      );
    }
    overrides[name] = async (input) => {
      try {
        const output = await handler(input);
        // A Lambda's result crosses a JSON boundary: undefined becomes null, classes become data.
        return (output === undefined ? null : JSON.parse(JSON.stringify(output))) as JsonValue;
      } catch (thrown) {
        throw asTaskError(thrown);
      }
    };
  }
  return overrides;
}

function withRetryInterval(machine: AslMachine, seconds: number): AslMachine {
  const copy = structuredClone(machine);
  for (const [, state] of allStates(copy)) {
    for (const retrier of state.Retry ?? []) retrier.IntervalSeconds = seconds;
  }
  return copy;
}

function checkSeconds(what: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new Error(`runWorkflowLocally: ${what} must be a number of seconds ≥ 0; received ${value}`);
  }
}

function defaultExecutionName(): string {
  const time = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  return `local-${time}-${Math.random().toString(36).slice(2, 8)}`;
}

function prepareMachine(opts: RunWorkflowOptions) {
  checkSeconds('pollSeconds', opts.pollSeconds);
  checkSeconds('retryIntervalSeconds', opts.retryIntervalSeconds);
  const definition = opts.definition as AslMachine;
  // Validates the definition as deployed (ARNs, paths); the copy actually run may carry fractional
  // retry intervals, which ASL forbids but the interpreter handles.
  new StateMachine(definition as unknown as StateMachineDefinition);
  const runnable =
    opts.retryIntervalSeconds === undefined
      ? definition
      : withRetryInterval(definition, opts.retryIntervalSeconds);
  const machine = new StateMachine(runnable as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  });
  const waitTimeOverrides: Record<string, number> = {};
  if (opts.pollSeconds !== undefined) {
    for (const [name, state] of allStates(definition)) {
      if (state.Type === 'Wait') waitTimeOverrides[name] = Math.round(opts.pollSeconds * 1000);
    }
  }
  return {
    machine,
    overrides: {
      taskResourceLocalHandlers: taskOverrides(definition, opts.handlers),
      waitTimeOverrides,
      // Read by the engine's Map state only when the definition has an ItemReader or a ResultWriter.
      distributedMap: distributedMapStore(opts.objects),
    },
  };
}

/** Iterations' events carry their index; their start and end belong to the child's history too. */
function isParentEvent(event: WorkflowEvent): boolean {
  return !('index' in event && typeof event.index === 'number') && !event.type.startsWith('MapIteration');
}

/** Follows the event log to its end: counts transitions and hands each event to the listener. */
function followEvents(events: AsyncGenerator<WorkflowEvent>, onEvent: RunWorkflowOptions['onEvent']) {
  const stats = { transitions: 0, parentEvents: 0, listenerError: undefined as Error | undefined };
  const done = (async () => {
    for await (const event of events) {
      if (event.type === 'StateEntered' || event.type === 'StateRetried') stats.transitions += 1;
      if (isParentEvent(event)) stats.parentEvents += 1;
      try {
        onEvent?.(event);
      } catch (error) {
        // A failing listener must not stop the execution; it is reported when the run ends.
        stats.listenerError ??= error instanceof Error ? error : new Error(String(error));
      }
    }
  })();
  return { stats, done };
}

/** A local execution's ARN (`$$.Execution.Id`), the one the workflow records as its execution. */
export function localExecutionArn(executionName: string): string {
  return `arn:aws:states:local:000000000000:execution:penetrator:${executionName}`;
}

/** Runs the definition to its end (or until `signal` aborts it) and reports how it ended. */
export async function runWorkflowLocally(opts: RunWorkflowOptions): Promise<WorkflowRunResult> {
  const { machine, overrides } = prepareMachine(opts);
  const executionName = opts.executionName ?? defaultExecutionName();
  const executionId = localExecutionArn(executionName);
  const execution = machine.run(opts.input as unknown as JsonValue, {
    overrides,
    noThrowOnAbort: true,
    context: {
      Execution: { Id: executionId, Name: executionName },
      StateMachine: { Id: 'arn:aws:states:local:000000000000:stateMachine:penetrator', Name: 'penetrator' },
    },
  });

  let aborted = false;
  const abort = (): void => {
    aborted = true;
    execution.abort();
  };
  if (opts.signal?.aborted) abort();
  else opts.signal?.addEventListener('abort', abort, { once: true });
  const events = followEvents(execution.eventLogs, opts.onEvent);

  let result: Omit<WorkflowRunResult, 'transitions' | 'parentEvents' | 'executionId'>;
  try {
    const output = await execution.result;
    result = aborted ? { status: 'ABORTED' } : { status: 'SUCCEEDED', output };
  } catch (error) {
    result = failure(error);
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
  // The log closes when the execution ends; the bound only guards against a library change.
  await Promise.race([events.done, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  if (events.stats.listenerError) throw events.stats.listenerError;
  return {
    ...result,
    transitions: events.stats.transitions,
    parentEvents: events.stats.parentEvents,
    executionId,
  };
}

function failure(error: unknown): Omit<WorkflowRunResult, 'transitions' | 'parentEvents' | 'executionId'> {
  if (error instanceof ExecutionTimeoutError) {
    return {
      status: 'FAILED',
      error: 'States.Timeout',
      cause: 'The execution timed out (its TimeoutSeconds elapsed).',
    };
  }
  if (error instanceof ExecutionError && error.cause instanceof Error) {
    // A Fail state's cause is the error's message; an uncaught task error carries the envelope.
    return { status: 'FAILED', error: error.cause.name, cause: error.cause.message };
  }
  throw error instanceof Error ? error : new Error(String(error));
}
