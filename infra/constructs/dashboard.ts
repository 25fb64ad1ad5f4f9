import { Duration } from 'aws-cdk-lib';
import {
  Dashboard,
  GraphWidget,
  type IMetric,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../lambdas/metric-names';
import type { MetricName } from '../../lambdas/ports';

export interface PenetratorDashboardProps {
  readonly dashboardName?: string;
  readonly stateMachine: StateMachine;
  /** Every product Lambda, by a short name shown in the legends. */
  readonly functions: Record<string, IFunction>;
  /** Their log groups: the recent-failures query reads them. */
  readonly logGroups: ILogGroup[];
}

const PERIOD = Duration.minutes(5);

/** A product metric for the whole fleet (the `service` dimension only; see lambdas/observability.ts). */
export function fleetMetric(name: MetricName, statistic: string, label: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRICS_SERVICE },
    statistic,
    period: PERIOD,
    label,
  });
}

/**
 * Recent failures: the handlers log a failed call as `failed` with the task, the node and the
 * error's message (the reason); summarize's failures are those same messages, one per node.
 */
export const RECENT_FAILURES_QUERY = [
  'fields @timestamp, task, cluster, node, nodeIp, errorName, errorMessage as reason',
  'filter message = "failed" or message = "failed unexpectedly"',
  'sort @timestamp desc',
  'limit 50',
];

/**
 * One CloudWatch dashboard for operators: executions and how they end, nodes installed and failed
 * across the fleet, the failure rate, install durations, Lambda errors and throttles, and the most
 * recent failure reasons from the Lambdas' logs.
 */
export class PenetratorDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: PenetratorDashboardProps) {
    super(scope, id);
    if (props.logGroups.length === 0 || props.logGroups.length > 50) {
      throw new Error(
        `PenetratorDashboard: received ${props.logGroups.length} log groups; expected 1 to 50 (a Logs Insights query's limit)`,
      );
    }
    const sm = props.stateMachine;
    const ended = {
      started: sm.metricStarted({ period: PERIOD, label: 'started' }),
      succeeded: sm.metricSucceeded({ period: PERIOD, label: 'succeeded' }),
      failed: sm.metricFailed({ period: PERIOD, label: 'failed' }),
      aborted: sm.metricAborted({ period: PERIOD, label: 'aborted' }),
      timedOut: sm.metricTimedOut({ period: PERIOD, label: 'timed out' }),
    };
    // Step Functions publishes no gauge of running executions: started minus ended, summed over the range.
    const running = new MathExpression({
      expression: 'RUNNING_SUM(s) - RUNNING_SUM(ok + f + a + t)',
      usingMetrics: {
        s: ended.started,
        ok: ended.succeeded,
        f: ended.failed,
        a: ended.aborted,
        t: ended.timedOut,
      },
      label: 'running (started − ended within the time range)',
      period: PERIOD,
    });
    const installed = fleetMetric('NodesInstalled', 'Sum', 'nodes installed');
    const failed = fleetMetric('NodesFailed', 'Sum', 'nodes failed');
    const failureRate = new MathExpression({
      expression: '100 * f / (i + f)',
      usingMetrics: { i: installed, f: failed },
      label: 'fleet failure rate (%)',
      period: PERIOD,
    });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: "# Penetrator\nTasks, nodes and failures. Node figures come from the Lambdas' EMF metrics.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Executions', left: Object.values(ended), width: 12, stacked: false }),
      new SingleValueWidget({ title: 'Running executions', metrics: [running], width: 6 }),
      new SingleValueWidget({ title: 'Fleet failure rate', metrics: [failureRate], width: 6 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Nodes installed vs failed', left: [installed, failed], width: 8 }),
      new GraphWidget({
        title: 'Fleet failure rate (%)',
        left: [failureRate],
        width: 8,
        leftYAxis: { min: 0, max: 100 },
      }),
      new GraphWidget({
        title: 'Install duration (s)',
        left: [
          fleetMetric('InstallDurationSeconds', 'p50', 'p50'),
          fleetMetric('InstallDurationSeconds', 'p90', 'p90'),
        ],
        right: [fleetMetric('Attempts', 'Average', 'attempts per installed node')],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors',
        left: this.perFunction(props.functions, 'errors'),
        width: 12,
      }),
      new GraphWidget({
        title: 'Lambda throttles',
        left: this.perFunction(props.functions, 'throttles'),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Recent failures',
        logGroupNames: props.logGroups.map((g) => g.logGroupName),
        queryLines: RECENT_FAILURES_QUERY,
        view: LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }),
    );
  }

  private perFunction(functions: Record<string, IFunction>, what: 'errors' | 'throttles'): IMetric[] {
    return Object.entries(functions).map(([name, fn]) =>
      what === 'errors'
        ? fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: name })
        : fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: name }),
    );
  }
}
