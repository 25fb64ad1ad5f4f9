import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../lambdas/metric-names';

export interface PenetratorAlarmsProps {
  readonly stateMachine: StateMachine;
  /** Where refused events and failed cleanups after an abort or time-out end. */
  readonly deadLetterQueue: IQueue;
  /** Receives every alarm by e-mail; without it the alarms exist and only show in the console. */
  readonly email?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * One alarm per thing an operator must look at (docs/operator-guide.md, "Alarms"): executions that
 * failed, timed out or were aborted, nodes that failed, and anything in the dead-letter queue (an
 * abort's cleanup that could not run leaves a credential Secret and a lock behind).
 */
export class PenetratorAlarms extends Construct {
  readonly alarms: Record<'failed' | 'timedOut' | 'aborted' | 'nodesFailed' | 'deadLetters', Alarm>;

  constructor(scope: Construct, id: string, props: PenetratorAlarmsProps) {
    super(scope, id);
    const machine = props.stateMachine;
    const sum = { period: PERIOD, statistic: 'Sum' } as const;
    this.alarms = {
      failed: this.alarm('ExecutionsFailed', machine.metricFailed(sum), 'A Penetrator task failed'),
      timedOut: this.alarm('ExecutionsTimedOut', machine.metricTimedOut(sum), 'A Penetrator task timed out'),
      aborted: this.alarm('ExecutionsAborted', machine.metricAborted(sum), 'A Penetrator task was aborted'),
      nodesFailed: this.alarm(
        'NodesFailed',
        new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'NodesFailed',
          // The fleet-wide series (service only); the per-cluster ones carry a cluster dimension too.
          dimensionsMap: { service: METRICS_SERVICE },
          ...sum,
        }),
        'A Penetrator task ended with nodes not installed',
      ),
      deadLetters: this.alarm(
        'DeadLetters',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
        }),
        'Penetrator events or cleanups after an abort ended in the dead-letter queue',
      ),
    };
    if (props.email) this.notify(props.email);
  }

  private alarm(id: string, metric: IMetric, what: string): Alarm {
    return new Alarm(this, id, {
      alarmDescription: `${what}; see docs/operator-guide.md, "Alarms".`,
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  private notify(email: string): void {
    const topic = new Topic(this, 'Topic', {
      displayName: 'Penetrator alarms',
      enforceSSL: true,
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });
    topic.addSubscription(new EmailSubscription(email));
    for (const alarm of Object.values(this.alarms)) alarm.addAlarmAction(new SnsAction(topic));
  }
}
