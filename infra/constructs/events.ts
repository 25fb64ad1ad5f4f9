import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { EventBridgePutEvents } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINE_ARN_ENV } from '../../lambdas/api/environment';
import { DetailTypes, EVENT_BUS_ENV, EVENT_SOURCE } from '../../lambdas/domain/product-events';
import type { ReinstallSchedule } from '../config';
import { PenetratorFunction, type PenetratorFunctionProps } from './penetrator-function';

export interface PenetratorEventsProps {
  readonly busName: string;
  readonly stateMachine: StateMachine;
  /** The state machine's name as a plain string, so the executions' ARN in IAM is readable. */
  readonly stateMachineName: string;
  /** The summarize Lambda: the only one that may put completion events on the bus. */
  readonly summarize: PenetratorFunction;
  /** What every product Lambda gets (logs, environment, VPC); entry and description are set here. */
  readonly functionDefaults: Omit<PenetratorFunctionProps, 'entry' | 'description'>;
  readonly schedule?: ReinstallSchedule;
}

/** Execution statuses after which the workflow's own cleanup may not have run. */
export const ENDED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/**
 * The product's EventBridge side: its bus, the "Reinstall Nodes" rule and its Lambda, an optional
 * schedule that sends such events, the completion events the summarize Lambda puts on the bus,
 * and the rule that cleans up after executions that ended without running their cleanup.
 * Undeliverable or refused events end in one dead-letter queue, with their error.
 */
export class PenetratorEvents extends Construct {
  readonly bus: EventBus;
  readonly deadLetterQueue: Queue;
  readonly reinstall: PenetratorFunction;
  readonly executionEnded: PenetratorFunction;
  readonly reinstallRule: Rule;
  readonly executionEndedRule: Rule;
  readonly schedule?: Schedule;

  constructor(scope: Construct, id: string, props: PenetratorEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.busName,
      description: 'Penetrator: Reinstall Nodes requests in, Task Succeeded / Task Failed out',
    });
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the event rules, the schedule and the event Lambdas.',
    });

    const environment = {
      ...props.functionDefaults.environment,
      [STATE_MACHINE_ARN_ENV]: props.stateMachine.stateMachineArn,
    };
    this.reinstall = this.eventFunction('Reinstall', props, environment, {
      entry: 'lambdas/handlers/reinstall.ts',
      description: 'Starts a reinstall task from a Reinstall Nodes event',
    });
    props.stateMachine.grantStartExecution(this.reinstall.role);
    // The start path every door shares looks for a running execution of the task first.
    this.reinstall.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:ListExecutions'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    this.executionEnded = this.eventFunction('ExecutionEnded', props, environment, {
      entry: 'lambdas/handlers/execution-ended.ts',
      description: 'Deletes the credential Secret and releases the lock of an aborted or timed-out execution',
    });
    this.grantDescribeExecutions(props.stateMachineName);

    // Delivery to the Lambda is retried by EventBridge; a failing call by Lambda's async retries.
    const target = (fn: PenetratorFunction) =>
      new LambdaFunction(fn.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });
    this.reinstallRule = new Rule(this, 'ReinstallRule', {
      eventBus: this.bus,
      description: 'Reinstall Nodes events start a reinstall task',
      eventPattern: { source: [EVENT_SOURCE], detailType: [DetailTypes.reinstallNodes] },
      targets: [target(this.reinstall)],
    });
    this.executionEndedRule = new Rule(this, 'ExecutionEndedRule', {
      description: "Cleans up after the workflow's executions that were aborted, timed out or failed",
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...ENDED_STATUSES], stateMachineArn: [props.stateMachine.stateMachineArn] },
      },
      targets: [target(this.executionEnded)],
    });

    props.summarize.function.addEnvironment(EVENT_BUS_ENV, this.bus.eventBusName);
    this.bus.grantPutEventsTo(props.summarize.role);

    if (props.schedule) this.schedule = this.reinstallSchedule(props.schedule);
  }

  private eventFunction(
    id: string,
    props: PenetratorEventsProps,
    environment: Record<string, string>,
    own: Pick<PenetratorFunctionProps, 'entry' | 'description'>,
  ): PenetratorFunction {
    const fn = new PenetratorFunction(this, id, { ...props.functionDefaults, ...own, environment });
    fn.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    return fn;
  }

  private grantDescribeExecutions(stateMachineName: string): void {
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.executionEnded.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }),
    );
    Validations.of(this.executionEnded.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}:*]`,
      reason:
        "Execution names are chosen at start; the wildcard covers only the executions of this stack's state machine.",
    });
  }

  private reinstallSchedule(schedule: ReinstallSchedule): Schedule {
    const detail: Record<string, string> = {
      cluster: schedule.cluster,
      labelSelector: schedule.labelSelector,
      sshCredential: schedule.sshCredential,
      ...(schedule.proxyNode ? { proxyNode: schedule.proxyNode } : {}),
    };
    return new Schedule(this, 'ReinstallSchedule', {
      description: `Reinstalls the nodes of ${schedule.cluster} matching ${schedule.labelSelector}`,
      schedule: ScheduleExpression.expression(`cron(${schedule.cron})`),
      target: new EventBridgePutEvents(
        {
          eventBus: this.bus,
          source: EVENT_SOURCE,
          detailType: DetailTypes.reinstallNodes,
          detail: ScheduleTargetInput.fromObject(detail),
        },
        { deadLetterQueue: this.deadLetterQueue, retryAttempts: 4, maxEventAge: Duration.hours(1) },
      ),
    });
  }
}
