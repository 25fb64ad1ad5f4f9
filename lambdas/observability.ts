/**
 * Logging for the handlers: Powertools' Logger (JSON lines, Lambda context) with the task, cluster,
 * node and execution as keys. Only names, addresses and ids are logged: never a payload as a whole,
 * a credential, a token or a kubeconfig.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { NodeWork, TaskRef } from './domain/contracts';
import { boundError } from './domain/failure-reason';
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { METRIC_DIMENSION, METRICS_NAMESPACE, METRICS_SERVICE } from './metric-names';
import type { Log, MetricName, Metrics } from './ports';
import { ErrorNames } from './errors';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export function createLogger(level?: LogLevel): Logger {
  return new Logger({ serviceName: 'penetrator', ...(level ? { logLevel: level } : {}) });
}

/** The port's view of a Powertools logger. */
export function asLog(logger: Logger): Log {
  const extra = (fields?: Record<string, unknown>): LogAttributes[] => (fields ? [fields] : []);
  return {
    debug: (message, fields) => logger.debug(message, ...extra(fields)),
    info: (message, fields) => logger.info(message, ...extra(fields)),
    warn: (message, fields) => logger.warn(message, ...extra(fields)),
    error: (message, fields) => logger.error(message, ...extra(fields)),
  };
}

export { METRIC_DIMENSION, METRICS_NAMESPACE, METRICS_SERVICE };

const METRIC_UNITS: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  NodesInstalled: MetricUnit.Count,
  NodesFailed: MetricUnit.Count,
  Attempts: MetricUnit.Count,
  InstallDurationSeconds: MetricUnit.Seconds,
};

/**
 * Metrics as CloudWatch embedded metric format lines (stdout, which Lambda ships to its log group).
 * Each value is written at once: the cluster dimension differs per call, and no value is lost when
 * a call ends in an error before any flush. It is written twice, per cluster and for the whole
 * fleet (service only), because CloudWatch cannot aggregate percentiles across dimension values.
 */
export function createMetrics(): Metrics {
  const metrics = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
  return {
    record(name, value, cluster) {
      const perCluster = metrics.singleMetric();
      perCluster.addDimension(METRIC_DIMENSION, cluster);
      perCluster.addMetric(name, METRIC_UNITS[name], value);
      metrics.singleMetric().addMetric(name, METRIC_UNITS[name], value);
    },
  };
}

/** Records nothing: local runs, unless PENETRATOR_METRICS=1. */
export const noMetrics: Metrics = { record: () => undefined };

/** Local runs write metrics only when asked (PENETRATOR_METRICS=1): their stdout is the CLI's. */
export function localMetrics(env: NodeJS.ProcessEnv = process.env): Metrics {
  return env.PENETRATOR_METRICS === '1' ? createMetrics() : noMetrics;
}

/** The task name of a Plan payload, before the document is validated (only a string is taken). */
function planTaskName(payload: unknown): unknown {
  const input = (payload as { input?: { nodeTask?: { metadata?: { name?: unknown } } } } | null)?.input;
  return input?.nodeTask?.metadata?.name;
}

/** The keys that tie a log line to its task run (all are names or ids, none is secret). */
export function logKeys(payload: unknown): Record<string, string> {
  const record = (typeof payload === 'object' && payload !== null ? payload : {}) as {
    task?: Partial<TaskRef>;
    node?: Partial<NodeWork>;
    executionId?: unknown;
    attempt?: { job?: unknown };
  };
  const keys: Record<string, string> = {};
  const put = (key: string, value: unknown): void => {
    if (typeof value === 'string' && value !== '') keys[key] = value.slice(0, 300);
  };
  put('task', record.task?.name ?? planTaskName(payload));
  put('cluster', record.task?.cluster);
  put('execution', record.task?.executionId ?? record.executionId);
  put('node', record.node?.name);
  put('nodeIp', record.node?.ip);
  put('job', record.attempt?.job);
  return keys;
}

/** What is logged of an error: its Step Functions name and its message (messages carry no secrets). */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return {
      errorName: error.name,
      errorMessage: error.message,
      retryable: (error as { retryable?: unknown }).retryable,
    };
  }
  return { errorName: 'Error', errorMessage: String(error) };
}

/** Runs one handler call with a child logger carrying the payload's keys; logs the outcome, rethrows errors unchanged. */
export async function logged<T>(
  logger: Logger,
  lambda: string,
  payload: unknown,
  run: (log: Log) => Promise<T>,
): Promise<T> {
  const log = logger.createChild();
  log.appendKeys({ lambda, ...logKeys(payload) });
  const started = Date.now();
  try {
    const result = await run(asLog(log));
    log.info('done', { ms: Date.now() - started });
    return result;
  } catch (error) {
    const fields = errorFields(error);
    // A look at a running install (ADR 0029) is thrown so that its Retry looks again: not a failure.
    if (fields.errorName === ErrorNames.InstallRunning)
      log.info('install still running', { ms: Date.now() - started });
    else if (fields.retryable === false || fields.retryable === true)
      log.warn('failed', { ...fields, ms: Date.now() - started });
    else log.error('failed unexpectedly', { ...fields, ms: Date.now() - started });
    // A per-node failure becomes the node's reason: it leaves the Lambda bounded (failure-reason.ts).
    throw NODE_STEP_LAMBDAS.has(lambda) ? boundError(error) : error;
  }
}

/** The Lambdas whose errors are a node's failure reason. */
const NODE_STEP_LAMBDAS: ReadonlySet<string> = new Set(['startInstall', 'checkInstall']);
