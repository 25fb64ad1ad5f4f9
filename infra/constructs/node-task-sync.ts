import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINE_ARN_ENV } from '../../lambdas/api/environment';
import { PenetratorFunction, type PenetratorFunctionProps } from './penetrator-function';

export interface NodeTaskSyncProps {
  readonly stateMachine: StateMachine;
  /** The state machine's name as a plain string, so the executions' ARN in IAM is readable. */
  readonly stateMachineName: string;
  readonly intervalMinutes: number;
  /** What every product Lambda gets (logs, environment, VPC); entry and description are set here. */
  readonly functionDefaults: Omit<PenetratorFunctionProps, 'entry' | 'description'>;
}

/**
 * `kubectl apply -f nodetask.yaml` as a door (ADR 0032): a schedule runs the sync Lambda, which starts
 * the new NodeTasks of every registered cluster and stops the runs of deleted ones. A sync that
 * fails is not retried: the next one, one interval later, looks at everything afresh.
 */
export class NodeTaskSync extends Construct {
  readonly function: PenetratorFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: NodeTaskSyncProps) {
    super(scope, id);
    this.function = new PenetratorFunction(this, 'Function', {
      ...props.functionDefaults,
      entry: 'lambdas/handlers/sync-node-tasks.ts',
      description: 'Starts the NodeTasks applied with kubectl; stops and cleans up the deleted ones',
      // Stopping a run waits for its execution to leave RUNNING; a pass is bounded per cluster.
      timeout: Duration.minutes(2),
      environment: {
        ...props.functionDefaults.environment,
        [STATE_MACHINE_ARN_ENV]: props.stateMachine.stateMachineArn,
      },
    });
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    this.rule = new Rule(this, 'Schedule', {
      description: 'Syncs the NodeTasks of every registered cluster',
      schedule: Schedule.rate(Duration.minutes(props.intervalMinutes)),
      targets: [new LambdaFunction(this.function.function, { retryAttempts: 0 })],
    });
    this.grantExecutions(props);
  }

  /** The start path (start and find executions) and the cancel path (describe and stop them). */
  private grantExecutions(props: NodeTaskSyncProps): void {
    const { role } = this.function;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executions],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${props.stateMachineName}:*]`,
      reason:
        "Execution ARNs end with their generated names; the wildcard covers only this state machine's executions.",
    });
  }
}
