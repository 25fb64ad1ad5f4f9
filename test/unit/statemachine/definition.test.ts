import { App, Duration, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { LambdaNames, type LambdaName } from '../../../lambdas/domain/contracts';
import { resolveDefinitionString } from '../../../cli/local/definition';
import { PenetratorWorkflow } from '../../../statemachine/definition';
import { StateNames, stateLambda } from '../../../statemachine/state-names';

type State = Record<string, unknown> & { Type: string };
interface Graph {
  StartAt: string;
  States: Record<string, State>;
  TimeoutSeconds?: number;
}

function render(props: Partial<ConstructorParameters<typeof PenetratorWorkflow>[2]> = {}): Graph {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const functions = Object.fromEntries(
    LambdaNames.map((name) => [
      name,
      LambdaFunction.fromFunctionArn(stack, name, `arn:aws:lambda:eu-west-1:123456789012:function:${name}`),
    ]),
  ) as Record<LambdaName, LambdaFunction>;
  const workBucket = Bucket.fromBucketName(stack, 'WorkBucket', 'penetrator-work');
  const workflow = new PenetratorWorkflow(stack, 'Workflow', { functions, workBucket, ...props });
  const cfn = workflow.stateMachine.node.defaultChild as unknown as { definitionString: unknown };
  // The Map's S3 resources name the partition: intrinsics, resolved as the local runner does.
  return resolveDefinitionString(stack.resolve(cfn.definitionString)) as unknown as Graph;
}

describe('the workflow definition', () => {
  const graph = render();
  const state = (name: string) => graph.States[name]!;

  it('runs plan, lock, prepare, install, summarize and release in that order', () => {
    const order: string[] = [];
    for (let name: string | undefined = graph.StartAt; name; name = state(name).Next as string | undefined) {
      order.push(name);
    }
    expect(order).toEqual([
      StateNames.planTask,
      StateNames.takeClusterLock,
      StateNames.prepareCluster,
      StateNames.installNodes,
      StateNames.summarizeTask,
      StateNames.releaseCluster,
      StateNames.allNodesInstalled,
    ]);
  });

  it('sends each Lambda the payload of its contract', () => {
    expect(state(StateNames.planTask).Parameters).toEqual({
      'input.$': '$',
      'executionId.$': '$$.Execution.Id',
    });
    expect(state(StateNames.planTask)).not.toHaveProperty('ResultPath');
    expect(state(StateNames.takeClusterLock)).toMatchObject({
      Parameters: { action: 'acquire', 'task.$': '$.task' },
      ResultPath: null,
    });
    expect(state(StateNames.prepareCluster)).toMatchObject({
      Parameters: { 'task.$': '$.task', 'work.$': '$.work' },
      ResultPath: '$.task',
    });
    expect(state(StateNames.summarizeTask)).toMatchObject({
      Parameters: { 'task.$': '$.task', 'work.$': '$.work', 'results.$': '$.results' },
      ResultPath: '$.summary',
    });
    expect(state(StateNames.releaseCluster)).toMatchObject({
      Parameters: { 'task.$': '$.task' },
      ResultPath: null,
    });
  });

  it('invokes, in every Task state, the Lambda that stateLambda names', () => {
    for (const [name, s] of Object.entries(graph.States).filter(([, s]) => s.Type === 'Task')) {
      expect({ name, resource: s.Resource }).toEqual({
        name,
        resource: `arn:aws:lambda:eu-west-1:123456789012:function:${stateLambda[name]}`,
      });
    }
  });

  it('ends with the task, its cluster and the summary, or fails with NodesFailed', () => {
    expect(state(StateNames.allNodesInstalled)).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.summary.failed', NumericEquals: 0, Next: StateNames.taskSucceeded }],
      Default: StateNames.taskFailed,
    });
    expect(state(StateNames.taskSucceeded)).toMatchObject({
      Type: 'Pass',
      Parameters: { 'task.$': '$.task.name', 'cluster.$': '$.task.cluster', 'summary.$': '$.summary' },
      End: true,
    });
  });

  it('uses only the state names of state-names.ts', () => {
    const nested = (state(StateNames.installNodes).ItemProcessor as Graph).States;
    const branch = (nested[StateNames.installNode]!.Branches as Graph[])[0]!.States;
    const names = [...Object.keys(graph.States), ...Object.keys(nested), ...Object.keys(branch)].sort();
    expect(names).toEqual(Object.values(StateNames).sort());
  });

  it('times out after 24 hours by default, or as configured', () => {
    expect(graph.TimeoutSeconds).toBe(86_400);
    expect(render({ timeout: Duration.hours(2) }).TimeoutSeconds).toBe(7200);
  });

  it('fails when the timeout is out of Step Functions bounds', () => {
    expect(() => render({ timeout: Duration.seconds(10) })).toThrow(
      /timeout must be between 1 minute and 365 days; received 10 seconds/,
    );
  });
});
