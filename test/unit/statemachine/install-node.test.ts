import { App, Duration, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { StateGraph } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { attemptErrorNames, ErrorNames, transientErrorNames } from '../../../lambdas/errors';
import { InstallNode } from '../../../statemachine/install-node';
import { attemptRetry } from '../../../statemachine/retry-policies';
import { StateNames, stateLambda } from '../../../statemachine/state-names';

const arn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;

type State = Record<string, unknown> & { Type: string };
interface Graph {
  StartAt: string;
  States: Record<string, State>;
}

function renderFragment(props: Partial<ConstructorParameters<typeof InstallNode>[2]> = {}): Graph {
  const stack = new Stack(new App(), 'Test');
  const fragment = new InstallNode(stack, 'InstallNode', {
    startInstall: LambdaFunction.fromFunctionArn(stack, 'Start', arn('start')),
    checkInstall: LambdaFunction.fromFunctionArn(stack, 'Check', arn('check')),
    ...props,
  });
  return stack.resolve(new StateGraph(fragment.startState, 'install node').toGraphJson()) as Graph;
}

describe('the install node fragment', () => {
  const graph = renderFragment();
  const parallel = graph.States[StateNames.installNode]!;
  const branch = (parallel.Branches as Graph[])[0]!;

  it('starts with a single-branch Parallel whose result is the installed node', () => {
    expect(graph.StartAt).toBe(StateNames.installNode);
    expect(parallel.Type).toBe('Parallel');
    expect(parallel.Branches).toHaveLength(1);
    expect(parallel.ResultSelector).toEqual({
      'name.$': '$[0].node.name',
      'ip.$': '$[0].node.ip',
      state: 'installed',
      'replaced.$': '$[0].check.replaced',
    });
    expect(parallel.Next).toBe(StateNames.recordSuccess);
    expect(graph.States[StateNames.recordSuccess]).toEqual({ Type: 'Pass', End: true });
  });

  it('starts the install with the whole node input, waits as Start install says, then checks until it succeeded', () => {
    expect(branch.StartAt).toBe(StateNames.startInstall);
    expect(branch.States[StateNames.startInstall]).toMatchObject({
      Type: 'Task',
      Resource: arn('start'),
      ResultPath: '$.attempt',
      Next: StateNames.waitForInstall,
    });
    // No Parameters: the Lambda receives the state input, {task, node}, unchanged.
    expect(branch.States[StateNames.startInstall]).not.toHaveProperty('Parameters');
    expect(branch.States[StateNames.waitForInstall]).toEqual({
      Type: 'Wait',
      SecondsPath: '$.attempt.waitSeconds',
      Next: StateNames.checkInstall,
    });
    expect(branch.States[StateNames.checkInstall]).toMatchObject({
      Type: 'Task',
      Resource: arn('check'),
      ResultPath: '$.check',
      Next: StateNames.nodeInstalled,
    });
    expect(branch.States[StateNames.nodeInstalled]).toEqual({ Type: 'Succeed' });
  });

  it("looks again at a running install through Check install's own Retry, backing off", () => {
    expect(branch.States[StateNames.checkInstall]!.Retry).toContainEqual({
      ErrorEquals: [ErrorNames.InstallRunning],
      IntervalSeconds: 5,
      BackoffRate: 2,
      MaxDelaySeconds: 120,
      MaxAttempts: 100,
      JitterStrategy: 'NONE',
    });
  });

  it('retries a failed attempt as a whole, then records the failure with its error and reason', () => {
    expect(parallel.Retry).toEqual([
      {
        ErrorEquals: [...attemptErrorNames, ErrorNames.Transient, 'States.Timeout'],
        IntervalSeconds: 30,
        BackoffRate: 2,
        MaxDelaySeconds: 600,
        MaxAttempts: 4,
        JitterStrategy: 'FULL',
      },
    ]);
    expect(parallel.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.recordFailure },
    ]);
    expect(graph.States[StateNames.recordFailure]).toEqual({
      Type: 'Pass',
      Parameters: {
        'name.$': '$.node.name',
        'ip.$': '$.node.ip',
        state: 'failed',
        'error.$': '$.error.Error',
        'reason.$': '$.error.Cause',
      },
      End: true,
    });
  });

  it('gives both Lambda calls the transient retry first, and the configured call deadline', () => {
    const withTimeout = renderFragment({ lambdaTimeout: Duration.seconds(90) });
    const tasks = Object.values(
      (withTimeout.States[StateNames.installNode]!.Branches as Graph[])[0]!.States,
    ).filter((s) => s.Type === 'Task');
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      expect((task.Retry as unknown[])[0]).toEqual({
        ErrorEquals: [...transientErrorNames],
        IntervalSeconds: 2,
        MaxAttempts: 4,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      });
      expect(task.TimeoutSeconds).toBe(90);
    }
  });

  it('takes the attempt retry from its props', () => {
    const custom = renderFragment({
      attemptRetry: { maxRetries: 0, interval: Duration.seconds(5), maxDelay: Duration.seconds(5) },
    });
    expect(custom.States[StateNames.installNode]!.Retry).toEqual([
      expect.objectContaining({ MaxAttempts: 0, IntervalSeconds: 5, MaxDelaySeconds: 5 }),
    ]);
  });

  it('maps each of its Task states to the Lambda it invokes', () => {
    expect(stateLambda[StateNames.startInstall]).toBe('startInstall');
    expect(stateLambda[StateNames.checkInstall]).toBe('checkInstall');
  });
});

describe('attemptRetry', () => {
  it('fails when the ceiling is negative or fractional', () => {
    expect(() => attemptRetry({ maxRetries: -1 })).toThrow(
      /maxRetries must be an integer from 0 .*; received -1/,
    );
    expect(() => attemptRetry({ maxRetries: 1.5 })).toThrow(/received 1.5/);
  });

  it('fails when the interval is under a second or the delay cap is below it', () => {
    expect(() => attemptRetry({ interval: Duration.millis(500) })).toThrow(
      /interval must be at least 1 second/,
    );
    expect(() => attemptRetry({ interval: Duration.minutes(2), maxDelay: Duration.minutes(1) })).toThrow(
      /maxDelay must not be shorter than interval/,
    );
  });
});
