import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Errors,
  Fail,
  type IChainable,
  JsonPath,
  LogLevel,
  Pass,
  ResultWriterV2,
  S3JsonItemReader,
  StateMachine,
  StateMachineType,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { LambdaName } from '../lambdas/domain/contracts';
import { ErrorNames } from '../lambdas/errors';
import { InstallNode } from './install-node';
import { invokeLambda } from './invoke-lambda';
import type { AttemptRetryOptions } from './retry-policies';
import { StateNames } from './state-names';

export interface WorkflowLogging {
  readonly destination: ILogGroup;
  /** Default ALL: every state transition, so a node's attempts can be followed in the logs. */
  readonly level?: LogLevel;
  /** Whether state input and output are logged. Default false (ADR 0003). */
  readonly includeExecutionData?: boolean;
}

export interface PenetratorWorkflowProps {
  /** The seven Lambdas, by their name in contracts.ts. */
  readonly functions: Record<LambdaName, IFunction>;
  /** Holds the work list the Map reads and the per-node results it writes (ADR 0019). */
  readonly workBucket: IBucket;
  readonly attemptRetry?: AttemptRetryOptions;
  /** The whole execution's deadline. Default 24 h. */
  readonly timeout?: Duration;
  /** Deadline of one Lambda call as Step Functions sees it. Default 5 min. */
  readonly lambdaTimeout?: Duration;
  readonly logging?: WorkflowLogging;
  /** X-Ray tracing of executions. Default true. */
  readonly tracing?: boolean;
  readonly stateMachineName?: string;
}

export const workflowDefaults = {
  timeout: Duration.hours(24),
  lambdaTimeout: Duration.minutes(5),
} as const;

/** Step Functions' own limit on a Standard execution. */
const MAX_EXECUTION_TIMEOUT = Duration.days(365);

/**
 * The whole workflow (docs/architecture.md), as a chain of states. Failures before anything exists in
 * the cluster (Plan, the lock) end the execution directly; failures after Prepare go through the
 * cleanup Lambda so the credential Secret and the lock never outlive the task.
 */
export function buildWorkflowDefinition(scope: Construct, props: PenetratorWorkflowProps): IChainable {
  const fns = props.functions;
  const timeout = props.lambdaTimeout ?? workflowDefaults.lambdaTimeout;

  const taskAborted = new Fail(scope, StateNames.taskAborted, {
    stateName: StateNames.taskAborted,
    errorPath: '$.error.Error',
    causePath: '$.error.Cause',
  });
  const cleanUpAfterError = invokeLambda(scope, StateNames.cleanUpAfterError, {
    fn: fns.cleanup,
    payload: TaskInput.fromObject({ task: JsonPath.objectAt('$.task'), error: JsonPath.objectAt('$.error') }),
    resultPath: JsonPath.DISCARD,
    timeout,
  });
  cleanUpAfterError.next(taskAborted);
  // A failing cleanup must still end the execution with the error that started the cleanup.
  cleanUpAfterError.addCatch(taskAborted, { errors: [Errors.ALL], resultPath: JsonPath.DISCARD });
  const onErrorCleanUp = { errors: [Errors.ALL], resultPath: '$.error' };

  const planTask = invokeLambda(scope, StateNames.planTask, {
    fn: fns.plan,
    payload: TaskInput.fromObject({ input: JsonPath.objectAt('$'), executionId: JsonPath.executionId }),
    timeout,
  }).addCatch(taskAborted, { errors: [Errors.ALL], resultPath: '$.error' });

  // Never clean up after a failed acquire: the lock may belong to another task.
  const takeClusterLock = invokeLambda(scope, StateNames.takeClusterLock, {
    fn: fns.lock,
    payload: TaskInput.fromObject({ action: 'acquire', task: JsonPath.objectAt('$.task') }),
    resultPath: JsonPath.DISCARD,
    timeout,
  }).addCatch(taskAborted, { errors: [Errors.ALL], resultPath: '$.error' });

  const prepareCluster = invokeLambda(scope, StateNames.prepareCluster, {
    fn: fns.prepare,
    payload: TaskInput.fromObject({ task: JsonPath.objectAt('$.task'), work: JsonPath.objectAt('$.work') }),
    resultPath: '$.task',
    timeout,
  }).addCatch(cleanUpAfterError, onErrorCleanUp);

  const installNodes = new DistributedMap(scope, StateNames.installNodes, {
    stateName: StateNames.installNodes,
    // The work list and the results are objects, not state: no state limit on the task's size.
    itemReader: new S3JsonItemReader({ bucket: props.workBucket, key: JsonPath.stringAt('$.work.listKey') }),
    resultWriterV2: new ResultWriterV2({
      bucket: props.workBucket,
      prefix: JsonPath.stringAt('$.work.resultsPrefix'),
    }),
    // $$.Map.Item is not readable inside an iteration: the item carries all it needs.
    itemSelector: { task: JsonPath.objectAt('$.task'), node: JsonPath.objectAt('$$.Map.Item.Value') },
    maxConcurrencyPath: '$.maxConcurrency',
    mapExecutionType: StateMachineType.STANDARD,
    // Every node failure is caught inside the iteration and becomes a NodeResult.
    toleratedFailurePercentage: 100,
    resultPath: '$.results',
  });
  installNodes.itemProcessor(
    new InstallNode(scope, 'Install node fragment', {
      startInstall: fns.startInstall,
      checkInstall: fns.checkInstall,
      lambdaTimeout: timeout,
      ...(props.attemptRetry ? { attemptRetry: props.attemptRetry } : {}),
    }),
  );
  installNodes.addCatch(cleanUpAfterError, onErrorCleanUp);

  const summarizeTask = invokeLambda(scope, StateNames.summarizeTask, {
    fn: fns.summarize,
    payload: TaskInput.fromObject({
      task: JsonPath.objectAt('$.task'),
      work: JsonPath.objectAt('$.work'),
      results: JsonPath.objectAt('$.results'),
    }),
    resultPath: '$.summary',
    timeout,
  }).addCatch(cleanUpAfterError, onErrorCleanUp);

  const releaseCluster = invokeLambda(scope, StateNames.releaseCluster, {
    fn: fns.cleanup,
    payload: TaskInput.fromObject({ task: JsonPath.objectAt('$.task') }),
    resultPath: JsonPath.DISCARD,
    timeout,
  }).addCatch(cleanUpAfterError, onErrorCleanUp);

  const taskSucceeded = new Pass(scope, StateNames.taskSucceeded, {
    stateName: StateNames.taskSucceeded,
    comment: 'Ends the execution with the task name, its cluster and the summary.',
    parameters: {
      task: JsonPath.stringAt('$.task.name'),
      cluster: JsonPath.stringAt('$.task.cluster'),
      summary: JsonPath.objectAt('$.summary'),
    },
  });
  const taskFailed = new Fail(scope, StateNames.taskFailed, {
    stateName: StateNames.taskFailed,
    error: ErrorNames.NodesFailed,
    causePath: '$.summary.message',
  });
  const allNodesInstalled = new Choice(scope, StateNames.allNodesInstalled, {
    stateName: StateNames.allNodesInstalled,
  })
    .when(Condition.numberEquals('$.summary.failed', 0), taskSucceeded)
    .otherwise(taskFailed);

  return planTask
    .next(takeClusterLock)
    .next(prepareCluster)
    .next(installNodes)
    .next(summarizeTask)
    .next(releaseCluster)
    .next(allNodesInstalled);
}

/** The Penetrator state machine: a Standard workflow whose definition is buildWorkflowDefinition. */
export class PenetratorWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: PenetratorWorkflowProps) {
    super(scope, id);
    const timeout = props.timeout ?? workflowDefaults.timeout;
    if (
      timeout.toSeconds({ integral: false }) < 60 ||
      timeout.toMilliseconds() > MAX_EXECUTION_TIMEOUT.toMilliseconds()
    ) {
      throw new Error(
        `PenetratorWorkflow: timeout must be between 1 minute and 365 days; received ${timeout.toHumanString()}`,
      );
    }
    const definition = buildWorkflowDefinition(this, props);
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: props.tracing ?? true,
      comment: 'Penetrator: joins the machines of a NodeTask to an edge Kubernetes cluster.',
      ...(props.logging
        ? {
            logs: {
              destination: props.logging.destination,
              level: props.logging.level ?? LogLevel.ALL,
              includeExecutionData: props.logging.includeExecutionData ?? false,
            },
          }
        : {}),
    });
  }
}
