/**
 * The Workflow port on Step Functions (the only importer of @aws-sdk/client-sfn). Vendor outcomes
 * become results here: ExecutionAlreadyExists → `conflict`, ExecutionDoesNotExist / InvalidArn →
 * `undefined` or `not-running`. Throttling and service errors throw TransientError. Messages name
 * executions, never their input.
 */
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { WorkflowInput } from '../domain/contracts';
import { TransientError } from '../errors';
import {
  CANCELLED_ERROR,
  type ExecutionDetail,
  type ExecutionInfo,
  type ExecutionStatus,
  type StartResult,
  type Workflow,
} from '../ports';

export { CANCELLED_ERROR, type Workflow } from '../ports';

/** One client per Lambda container: built at module load, reused by every invocation. */
export const sfnClient: SFNClient = new SFNClient({});

const DEFAULT_MAX_PAGES = 5;
const PAGE_SIZE = 1000;

const TRANSIENT_SDK_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalServerError',
  'InternalFailure',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NOT_FOUND_ERRORS = new Set(['ExecutionDoesNotExist', 'InvalidArn']);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function isTransient(error: unknown): boolean {
  if (TRANSIENT_SDK_ERRORS.has(errorName(error))) return true;
  const meta = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = meta.$metadata?.httpStatusCode;
  return Boolean(meta.$retryable) || (typeof status === 'number' && (status >= 500 || status === 429));
}

/** The product's error for a failed call: transient or not, naming the call and the SDK error only. */
function sfnError(what: string, error: unknown): Error {
  const name = errorName(error);
  if (isTransient(error)) return new TransientError(`Step Functions: ${what} failed transiently (${name})`);
  return Object.assign(new Error(`Step Functions: ${what} failed (${name})`), { sdkError: name });
}

function iso(date: Date | undefined): string | undefined {
  return date === undefined ? undefined : date.toISOString();
}

interface ExecutionFields {
  executionArn?: string;
  name?: string;
  status?: string;
  startDate?: Date;
  stopDate?: Date;
}

function info(item: ExecutionFields): ExecutionInfo {
  const result: ExecutionInfo = {
    arn: item.executionArn ?? '',
    name: item.name ?? '',
    status: (item.status ?? 'RUNNING') as ExecutionStatus,
    startDate: iso(item.startDate) ?? new Date(0).toISOString(),
  };
  const stopDate = iso(item.stopDate);
  if (stopDate !== undefined) result.stopDate = stopDate;
  return result;
}

export class StepFunctionsWorkflow implements Workflow {
  constructor(
    private readonly stateMachineArn: string,
    private readonly client: SFNClient = sfnClient,
  ) {}

  async start(executionName: string, input: WorkflowInput): Promise<StartResult> {
    try {
      const answer = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: executionName,
          input: JSON.stringify(input),
        }),
      );
      return {
        outcome: 'started',
        arn: answer.executionArn ?? '',
        startDate: iso(answer.startDate) ?? new Date().toISOString(),
      };
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return { outcome: 'conflict' };
      throw sfnError(`starting execution ${executionName}`, error);
    }
  }

  private async page(status: ExecutionStatus | undefined, token: string | undefined) {
    try {
      return await this.client.send(
        new ListExecutionsCommand({
          stateMachineArn: this.stateMachineArn,
          maxResults: PAGE_SIZE,
          ...(status ? { statusFilter: status } : {}),
          ...(token ? { nextToken: token } : {}),
        }),
      );
    } catch (error) {
      throw sfnError('listing executions', error);
    }
  }

  async list(
    query: { status?: ExecutionStatus; namePrefix?: string; maxPages?: number } = {},
  ): Promise<ExecutionInfo[]> {
    const found: ExecutionInfo[] = [];
    const prefix = query.namePrefix ?? '';
    let token: string | undefined;
    for (let page = 0; page < (query.maxPages ?? DEFAULT_MAX_PAGES); page++) {
      const answer = await this.page(query.status, token);
      for (const item of answer.executions ?? []) if (item.name?.startsWith(prefix)) found.push(info(item));
      token = answer.nextToken;
      if (!token) break;
    }
    return found;
  }

  async describe(executionArn: string): Promise<ExecutionDetail | undefined> {
    let answer;
    try {
      answer = await this.client.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (NOT_FOUND_ERRORS.has(errorName(error))) return undefined;
      throw sfnError(`describing execution ${executionArn}`, error);
    }
    const detail: ExecutionDetail = info(answer);
    if (answer.input !== undefined) {
      try {
        detail.input = JSON.parse(answer.input) as unknown;
      } catch {
        // Not JSON: nothing this product started. The detail stays without input.
      }
    }
    return detail;
  }

  async stop(executionArn: string, cause: string): Promise<'stopped' | 'not-running'> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, error: CANCELLED_ERROR, cause }));
      return 'stopped';
    } catch (error) {
      if (NOT_FOUND_ERRORS.has(errorName(error))) return 'not-running';
      throw sfnError(`stopping execution ${executionArn}`, error);
    }
  }
}
