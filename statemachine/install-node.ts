import type { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Errors,
  type INextable,
  JsonPath,
  Parallel,
  Pass,
  type State,
  StateMachineFragment,
  Succeed,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { invokeLambda } from './invoke-lambda';
import { attemptRetry, installRunningRetry, type AttemptRetryOptions } from './retry-policies';
import { StateNames } from './state-names';

export interface InstallNodeProps {
  readonly startInstall: IFunction;
  readonly checkInstall: IFunction;
  /** Backoff and ceiling of the per-node attempt retry. */
  readonly attemptRetry?: AttemptRetryOptions;
  /** Deadline of one Lambda call. */
  readonly lambdaTimeout?: Duration;
}

/**
 * One node's installation, the body of the Distributed Map. Input: `{task, node}`
 * (NodeStepInput); output: a NodeResult.
 *
 * The attempt (Start install → Wait → Check install, which its own Retry calls again while the Job
 * runs: ADR 0029) sits in a single-branch Parallel so that a failed attempt is retried as a whole by
 * Step Functions' own Retry, visible in the console; whatever still fails is caught and recorded as this node's result, so one
 * node never stops the others.
 */
export class InstallNode extends StateMachineFragment {
  readonly startState: State;
  readonly endStates: INextable[];

  constructor(scope: Construct, id: string, props: InstallNodeProps) {
    super(scope, id);
    const timeout = props.lambdaTimeout;

    const startInstall = invokeLambda(this, StateNames.startInstall, {
      fn: props.startInstall,
      resultPath: '$.attempt',
      ...(timeout ? { timeout } : {}),
    });
    const waitForInstall = new Wait(this, StateNames.waitForInstall, {
      stateName: StateNames.waitForInstall,
      // As long as the task's installs have been seen to take (Start install says), not a fixed poll.
      time: WaitTime.secondsPath('$.attempt.waitSeconds'),
    });
    const checkInstall = invokeLambda(this, StateNames.checkInstall, {
      fn: props.checkInstall,
      resultPath: '$.check',
      ...(timeout ? { timeout } : {}),
    });
    checkInstall.addRetry(installRunningRetry);
    const nodeInstalled = new Succeed(this, StateNames.nodeInstalled, {
      stateName: StateNames.nodeInstalled,
    });
    // Check install returns only once the node is installed; running and failed are its errors.
    startInstall.next(waitForInstall).next(checkInstall).next(nodeInstalled);

    const installNode = new Parallel(this, StateNames.installNode, {
      stateName: StateNames.installNode,
      resultSelector: {
        name: JsonPath.stringAt('$[0].node.name'),
        ip: JsonPath.stringAt('$[0].node.ip'),
        state: 'installed',
        replaced: JsonPath.listAt('$[0].check.replaced'),
      },
    });
    installNode.branch(startInstall);
    installNode.addRetry(attemptRetry(props.attemptRetry));

    const recordSuccess = new Pass(this, StateNames.recordSuccess, { stateName: StateNames.recordSuccess });
    const recordFailure = new Pass(this, StateNames.recordFailure, {
      stateName: StateNames.recordFailure,
      parameters: {
        name: JsonPath.stringAt('$.node.name'),
        ip: JsonPath.stringAt('$.node.ip'),
        state: 'failed',
        error: JsonPath.stringAt('$.error.Error'),
        reason: JsonPath.stringAt('$.error.Cause'),
      },
    });
    installNode.addCatch(recordFailure, { errors: [Errors.ALL], resultPath: '$.error' });
    installNode.next(recordSuccess);

    this.startState = installNode;
    this.endStates = [recordSuccess, recordFailure];
  }
}
