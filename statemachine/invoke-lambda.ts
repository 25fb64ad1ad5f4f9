import type { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Timeout, type TaskInput } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { transientRetry } from './retry-policies';

export interface InvokeLambdaProps {
  readonly fn: IFunction;
  /** The Lambda's event. Default: the whole state input (no Parameters). */
  readonly payload?: TaskInput;
  /** Where the Lambda's result goes; `JsonPath.DISCARD` keeps the state input unchanged. Default `$`. */
  readonly resultPath?: string;
  /** Deadline of one call, so a hung call fails as States.Timeout instead of stalling the task. */
  readonly timeout?: Duration;
}

/**
 * A Task state that invokes one of the workflow's Lambdas the same way everywhere: the Lambda's
 * return value is the state's result (payloadResponseOnly, which also lets the local runner put the
 * handler in the Task's place), and the transient retry replaces CDK's built-in one so that the
 * retried error names all come from lambdas/errors.ts.
 */
export function invokeLambda(scope: Construct, stateName: string, props: InvokeLambdaProps): LambdaInvoke {
  const task = new LambdaInvoke(scope, stateName, {
    stateName,
    lambdaFunction: props.fn,
    ...(props.payload ? { payload: props.payload } : {}),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    ...(props.resultPath !== undefined ? { resultPath: props.resultPath } : {}),
    ...(props.timeout ? { taskTimeout: Timeout.duration(props.timeout) } : {}),
  });
  task.addRetry(transientRetry);
  return task;
}
