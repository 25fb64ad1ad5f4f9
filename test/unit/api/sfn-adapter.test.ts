import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow, sfnClient } from '../../../lambdas/adapters/sfn';
import { ErrorNames } from '../../../lambdas/errors';

const sfn = mockClient(SFNClient);
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:prod--nodes--abc123';
const workflow = new StepFunctionsWorkflow(MACHINE, sfnClient);

beforeEach(() => {
  sfn.reset();
});

describe('StepFunctionsWorkflow', () => {
  it('starts an execution of its state machine with the name and the input as JSON', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: EXECUTION, startDate: new Date('2026-11-24T10:00:00Z') });
    const input = { nodeTask: { metadata: { name: 'nodes' } }, cluster: 'prod' };

    const result = await workflow.start('prod--nodes--abc123', input);

    expect(result).toEqual({ outcome: 'started', arn: EXECUTION, startDate: '2026-11-24T10:00:00.000Z' });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: MACHINE,
      name: 'prod--nodes--abc123',
      input: JSON.stringify(input),
    });
  });

  it('reports a name already used as a conflict', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    expect(await workflow.start('prod--nodes--abc123', { nodeTask: {} })).toEqual({ outcome: 'conflict' });
  });

  it('turns throttling into a transient error naming the execution, not the input', async () => {
    sfn.on(StartExecutionCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const error = await workflow.start('prod--nodes--abc123', { nodeTask: { secret: 'x' } }).then(
      () => new Error('expected a failure'),
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ name: ErrorNames.Transient });
    expect(error.message).toContain('prod--nodes--abc123');
    expect(error.message).not.toContain('secret');
  });

  it('lists executions newest first across pages, keeping the names with the prefix', async () => {
    sfn
      .on(ListExecutionsCommand, { stateMachineArn: MACHINE, maxResults: 1000, statusFilter: 'RUNNING' })
      .resolves({
        executions: [
          {
            executionArn: `${MACHINE}:a`,
            stateMachineArn: MACHINE,
            name: 'prod--nodes--aaaaaa',
            status: 'RUNNING',
            startDate: new Date('2026-11-24T10:00:00Z'),
          },
          {
            executionArn: `${MACHINE}:b`,
            stateMachineArn: MACHINE,
            name: 'prod--other--bbbbbb',
            status: 'RUNNING',
            startDate: new Date('2026-11-24T09:00:00Z'),
          },
        ],
        nextToken: 'page-2',
      })
      .on(ListExecutionsCommand, { nextToken: 'page-2' })
      .resolves({
        executions: [
          {
            executionArn: `${MACHINE}:c`,
            stateMachineArn: MACHINE,
            name: 'prod--nodes--cccccc',
            status: 'RUNNING',
            startDate: new Date('2026-11-24T08:00:00Z'),
            stopDate: new Date('2026-11-24T08:30:00Z'),
          },
        ],
      });

    const found = await workflow.list({ status: 'RUNNING', namePrefix: 'prod--nodes--' });

    expect(found.map((e) => e.name)).toEqual(['prod--nodes--aaaaaa', 'prod--nodes--cccccc']);
    expect(found[1]).toMatchObject({ stopDate: '2026-11-24T08:30:00.000Z', status: 'RUNNING' });
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
  });

  it('stops after maxPages pages', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [], nextToken: 'more' });
    await workflow.list({ maxPages: 3 });
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 3);
  });

  it('describes an execution with its input parsed, and an unknown one as undefined', async () => {
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXECUTION })
      .resolves({
        executionArn: EXECUTION,
        name: 'x',
        status: 'SUCCEEDED',
        startDate: new Date(0),
        input: '{"cluster":"prod"}',
      })
      .on(DescribeExecutionCommand, { executionArn: 'arn:aws:states:local:0:execution:penetrator:local-1' })
      .rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));

    expect(await workflow.describe(EXECUTION)).toMatchObject({
      status: 'SUCCEEDED',
      input: { cluster: 'prod' },
    });
    expect(await workflow.describe('arn:aws:states:local:0:execution:penetrator:local-1')).toBeUndefined();
  });

  it('stops an execution with the cancellation error and cause', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    expect(await workflow.stop(EXECUTION, 'cancelled through the API')).toBe('stopped');
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StopExecutionCommand, {
      executionArn: EXECUTION,
      error: 'Penetrator.Cancelled',
      cause: 'cancelled through the API',
    });
  });
});
