import { join } from 'node:path';
import {
  ArnFormat,
  CfnOutput,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type LambdaName, LambdaNames } from '../lambdas/domain/contracts';
import { SECRETS_KEY_ID_ENV, SecretReaderEnv } from '../lambdas/api/environment';
import { SettingsEnv } from '../lambdas/settings';
import { PenetratorWorkflow } from '../statemachine/definition';
import type { PenetratorConfig } from './config';
import { PenetratorAlarms } from './constructs/alarms';
import { PenetratorApi } from './constructs/api';
import { PenetratorDashboard } from './constructs/dashboard';
import { PenetratorEvents } from './constructs/events';
import { NodeTaskSync, type NodeTaskSyncProps } from './constructs/node-task-sync';
import {
  PenetratorFunction,
  type PenetratorFunctionProps,
  projectRoot,
} from './constructs/penetrator-function';
import { SecretsKey } from './constructs/secrets-key';
import { WorkBucket } from './constructs/work-bucket';
import { WORK_BUCKET_ENV } from '../lambdas/domain/work-objects';

export interface PenetratorStackProps extends StackProps {
  readonly config: PenetratorConfig;
}

/** Which secrets each Lambda reads: kubeconfigs of registered clusters, SSH credentials. */
const secretAccess: Record<LambdaName, ReadonlyArray<'clusters' | 'credentials'>> = {
  plan: ['clusters', 'credentials'],
  lock: ['clusters'],
  prepare: ['clusters', 'credentials'],
  startInstall: ['clusters'],
  checkInstall: ['clusters'],
  summarize: ['clusters'],
  cleanup: ['clusters'],
};

const functionSpecs: Record<LambdaName, { file: string; description: string; timeout?: Duration }> = {
  plan: { file: 'plan', description: 'Validates a NodeTask and assigns node names' },
  lock: { file: 'lock', description: 'Takes the per-cluster lock (a Lease)' },
  prepare: {
    file: 'prepare',
    description:
      'Creates the task object, the credential Secret, the script ConfigMap and the bootstrap token',
    timeout: Duration.seconds(120),
  },
  startInstall: {
    file: 'start-install',
    description: "Starts (or adopts) one node's install Job; in direct mode, installs the node itself",
    // Direct mode installs within the call: Lambda's maximum allows attempts of up to 870 s
    // (the call's remaining time less a 30 s margin; docs/direct-mode.md).
    timeout: Duration.seconds(900),
  },
  checkInstall: { file: 'check-install', description: "Checks one node's install Job and its Node" },
  summarize: { file: 'summarize', description: "Records the task's outcome in the cluster" },
  cleanup: { file: 'cleanup', description: 'Deletes the credential Secret and releases the lock' },
};

/**
 * Wiring only: the seven Lambdas, the workflow, its logs and alarm, and the IAM that ties them.
 * Every decision about one of these lives in its own construct.
 */
export class PenetratorStack extends Stack {
  readonly workflow: PenetratorWorkflow;
  readonly functions: Record<LambdaName, PenetratorFunction>;
  readonly api: PenetratorApi;
  readonly events: PenetratorEvents;
  /** `kubectl apply -f` as a door: the scheduled sync of the NodeTasks in every registered cluster. */
  readonly sync: NodeTaskSync;
  readonly dashboard: PenetratorDashboard;
  readonly secretsKey: SecretsKey;
  readonly workBucket: WorkBucket;

  constructor(scope: Construct, id: string, props: PenetratorStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.secretsKey = new SecretsKey(this, 'SecretsKey', { aliasName: this.stackName });

    const vpc = config.vpc
      ? {
          // Only the id matters: the subnets are given explicitly, so no zone is ever looked up.
          vpc: Vpc.fromVpcAttributes(this, 'Vpc', {
            vpcId: config.vpc.vpcId,
            availabilityZones: Fn.getAzs(),
          }),
          subnets: config.vpc.subnetIds.map((subnetId, i) =>
            Subnet.fromSubnetId(this, `Subnet${i}`, subnetId),
          ),
        }
      : undefined;
    // Synth only stages installer/ into the cloud assembly; `cdk deploy` builds and pushes it to the
    // bootstrap ECR repository, so synth stays offline and Docker is needed only where one deploys.
    const installerImage =
      config.installerImage ??
      new DockerImageAsset(this, 'InstallerImage', { directory: join(projectRoot, 'installer') }).imageUri;
    const environment: Record<string, string> = {
      [SettingsEnv.secretPrefix]: config.secretPrefix,
      [SettingsEnv.installerImage]: installerImage,
      [SettingsEnv.packageSource]: JSON.stringify(config.packageSource),
      // The bootstrap token lives as long as an execution may; the lock Lease is short and renewed.
      [SettingsEnv.taskDeadlineSeconds]: String(config.executionTimeoutHours * 3600),
      ...(config.defaultCluster ? { [SettingsEnv.defaultCluster]: config.defaultCluster } : {}),
      [SettingsEnv.requireKnownHosts]: String(config.requireKnownHosts),
      [SettingsEnv.attemptIntervalSeconds]: String(config.attemptIntervalSeconds),
      [SettingsEnv.attemptMaxDelaySeconds]: String(config.attemptMaxDelaySeconds),
    };

    const functions = {} as Record<LambdaName, PenetratorFunction>;
    const lambdaFunctions = {} as Record<LambdaName, IFunction>;
    for (const name of LambdaNames) {
      const spec = functionSpecs[name];
      const fnProps: PenetratorFunctionProps = {
        entry: `lambdas/handlers/${spec.file}.ts`,
        description: spec.description,
        logRetention: config.logRetention,
        environment,
        ...(spec.timeout ? { timeout: spec.timeout } : {}),
        ...(vpc ? { vpc } : {}),
      };
      functions[name] = new PenetratorFunction(this, `${name[0]!.toUpperCase()}${name.slice(1)}`, fnProps);
      lambdaFunctions[name] = functions[name].function;
      this.grantSecretRead(functions[name], config.secretPrefix, secretAccess[name]);
    }
    this.grantClusterListing(functions.plan);
    this.grantBoundsRead(functions.plan, config.secretPrefix);
    this.functions = functions;
    this.workBucket = new WorkBucket(this, 'WorkBucket', {
      executionTimeout: Duration.hours(config.executionTimeoutHours),
    });
    this.grantWorkObjects();

    const logGroup = new LogGroup(this, 'WorkflowLogs', {
      // The vendedlogs prefix keeps CloudWatch's resource policy small however many workflows log.
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-workflow`,
      retention: config.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.workflow = new PenetratorWorkflow(this, 'Workflow', {
      functions: lambdaFunctions,
      workBucket: this.workBucket.bucket,
      attemptRetry: {
        maxRetries: config.attemptMaxRetries,
        interval: Duration.seconds(config.attemptIntervalSeconds),
        maxDelay: Duration.seconds(config.attemptMaxDelaySeconds),
      },
      stateMachineName: `${this.stackName}-workflow`,
      timeout: Duration.hours(config.executionTimeoutHours),
      logging: { destination: logGroup, includeExecutionData: false },
      tracing: true,
    });
    this.acknowledgeWorkflowPolicy();

    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });

    this.api = new PenetratorApi(this, 'Api', {
      stateMachine: this.workflow.stateMachine,
      stateMachineName: `${this.stackName}-workflow`,
      secretPrefix: config.secretPrefix,
      logRetention: config.logRetention,
      environment,
      ...(vpc ? { vpc } : {}),
    });

    const functionDefaults = { logRetention: config.logRetention, environment, ...(vpc ? { vpc } : {}) };
    this.events = new PenetratorEvents(this, 'Events', {
      busName: config.eventBusName,
      stateMachine: this.workflow.stateMachine,
      stateMachineName: `${this.stackName}-workflow`,
      summarize: functions.summarize,
      functionDefaults,
      ...(config.reinstallSchedule ? { schedule: config.reinstallSchedule } : {}),
    });
    for (const fn of [this.events.reinstall, this.events.executionEnded]) {
      this.grantSecretRead(fn, config.secretPrefix, ['clusters']);
    }
    // Like Plan, it may have to find the only registered cluster.
    this.grantClusterListing(this.events.executionEnded);
    this.sync = this.nodeTaskSync(config, functionDefaults);
    this.grantSecretsKey();
    this.restrictSecretReads();

    new PenetratorAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      deadLetterQueue: this.events.deadLetterQueue,
      ...(config.alarmEmail ? { email: config.alarmEmail } : {}),
    });

    const observed: Record<string, PenetratorFunction> = {
      ...functions,
      reinstall: this.events.reinstall,
      executionEnded: this.events.executionEnded,
      syncNodeTasks: this.sync.function,
      ...this.api.functions,
    };
    this.dashboard = new PenetratorDashboard(this, 'Dashboard', {
      dashboardName: this.stackName,
      stateMachine: this.workflow.stateMachine,
      functions: Object.fromEntries(Object.entries(observed).map(([name, fn]) => [name, fn.function])),
      logGroups: Object.values(observed).map((fn) => fn.logGroup),
    });
  }

  /** The sync reads kubeconfigs only, and lists the clusters it syncs. */
  private nodeTaskSync(
    config: PenetratorConfig,
    functionDefaults: NodeTaskSyncProps['functionDefaults'],
  ): NodeTaskSync {
    const sync = new NodeTaskSync(this, 'Sync', {
      stateMachine: this.workflow.stateMachine,
      stateMachineName: `${this.stackName}-workflow`,
      intervalMinutes: config.syncIntervalMinutes,
      functionDefaults,
    });
    this.grantSecretRead(sync.function, config.secretPrefix, ['clusters']);
    this.grantClusterListing(sync.function);
    return sync;
  }

  /** Plan writes the work list; Prepare and Summarize read it (and Summarize the results). */
  private grantWorkObjects(): void {
    const access = { plan: 'write', prepare: 'read', summarize: 'read' } as const;
    for (const [name, verb] of Object.entries(access)) {
      const fn = this.functions[name as keyof typeof access];
      this.workBucket.grant(fn.role, verb);
      fn.function.addEnvironment(WORK_BUCKET_ENV, this.workBucket.bucket.bucketName);
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.workBucket.bucket.node.defaultChild as never)}.Arn>/tasks/*]`,
        reason: "Objects are named after the execution: the wildcard covers only the task objects' prefix.",
      });
    }
  }

  /** Every role that reads a product secret may decrypt it; only the API's writers make data keys. */
  private grantSecretsKey(): void {
    for (const fn of [
      ...Object.values(this.functions),
      this.events.reinstall,
      this.events.executionEnded,
      this.api.functions.tasks,
      this.sync.function,
    ]) {
      this.secretsKey.grant(fn.role, 'read');
    }
    for (const fn of [this.api.functions.credentials, this.api.functions.clusters]) {
      this.secretsKey.grant(fn.role, 'write');
      fn.function.addEnvironment(SECRETS_KEY_ID_ENV, this.secretsKey.key.keyArn);
    }
  }

  /**
   * Each writer Lambda is told which roles may read the secrets it writes; it gives every secret a
   * resource policy denying the value to anyone else (ADR 0017). The readers are exactly the roles
   * granted the read above.
   */
  private restrictSecretReads(): void {
    const workflowReaders = (kind: 'clusters' | 'credentials') =>
      LambdaNames.filter((name) => secretAccess[name].includes(kind)).map((name) => this.functions[name]);
    const readers = {
      credentials: workflowReaders('credentials'),
      clusters: [
        ...workflowReaders('clusters'),
        this.events.reinstall,
        this.events.executionEnded,
        this.api.functions.tasks,
        this.sync.function,
      ],
    };
    for (const kind of ['credentials', 'clusters'] as const) {
      this.api.functions[kind].function.addEnvironment(
        SecretReaderEnv[kind],
        readers[kind].map((fn) => fn.role.roleArn).join(','),
      );
    }
  }

  private grantSecretRead(
    fn: PenetratorFunction,
    prefix: string,
    kinds: ReadonlyArray<'clusters' | 'credentials'>,
  ): void {
    const resources = kinds.map((kind) =>
      this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${prefix}${kind}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        // Only GetSecretValue: no handler describes a secret (test/integration/iam checks both ways).
        actions: ['secretsmanager:GetSecretValue'],
        resources,
      }),
    );
    for (const kind of kinds) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}${kind}/*]`,
        reason: `Secret names get a random suffix from Secrets Manager; the wildcard is limited to the product's ${prefix}${kind}/ prefix.`,
      });
    }
  }

  /**
   * Plan reads the bounds of the task's credential and cluster from their secrets' tags
   * (DescribeSecret returns no value), before it reads the credential itself.
   */
  private grantBoundsRead(fn: PenetratorFunction, prefix: string): void {
    const resources = (['clusters', 'credentials'] as const).map((kind) =>
      this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: `${prefix}${kind}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources }),
    );
  }

  /**
   * Plan picks "the only registered cluster" when a task names none, which needs ListSecrets. That
   * action has no resource-level permissions; it returns names and metadata, never secret values.
   */
  private grantClusterListing(fn: PenetratorFunction): void {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
    );
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'secretsmanager:ListSecrets has no resource-level permissions; it lists names (filtered to the product prefix by the caller), never values.',
    });
  }

  private acknowledgeWorkflowPolicy(): void {
    const role = this.workflow.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray and CloudWatch Logs delivery actions have no resource-level permissions.',
    });
    // The Distributed Map starts, describes and stops its child executions; CDK scopes that policy
    // to this state machine's executions, whose ARN it derives from the state machine's own ARN.
    const stateMachine = this.workflow.stateMachine;
    const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${this.getLogicalId(stateMachine.node.defaultChild as never)}"}]}]}`;
    for (const suffix of [':*', '/*:*']) {
      Validations.of(stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}${suffix}]`,
        reason:
          "The wildcard covers only this state machine's own (child) executions, which the Distributed Map manages.",
      });
    }
    const bucketId = this.getLogicalId(this.workBucket.bucket.node.defaultChild as never);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${bucketId}>/*]`,
      reason:
        "The Distributed Map's ItemReader and ResultWriter read and write objects named per execution; the bucket holds nothing but task objects.",
    });
    for (const fn of Object.values(this.functions)) {
      const logicalId = this.getLogicalId(fn.function.node.defaultChild as never);
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason:
          'CDK grants invoke on the function and its versions; the wildcard only covers versions of this function.',
      });
    }
  }
}
