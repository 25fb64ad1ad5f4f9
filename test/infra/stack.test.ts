import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContextKeys } from '../../infra/config';
import { projectRoot } from '../../infra/constructs/penetrator-function';
import { createApp } from '../../infra/create-app';
import { SECRETS_KEY_ID_ENV } from '../../lambdas/api/environment';
import { attemptErrorNames, ErrorNames, transientErrorNames } from '../../lambdas/errors';
import { StateNames } from '../../statemachine/state-names';
import {
  type AslDefinition,
  aslValidator,
  definitionOf,
  skipBundling,
  stateOf,
  synthTemplate,
} from './helpers';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type Resource = { Type: string; Properties: Record<string, unknown> };

function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

/** Statements of every IAM policy attached to the role of the Lambda whose description matches. */
function lambdaStatements(template: Template, description: RegExp): Statement[] {
  const [fn] = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  if (!fn) throw new Error(`no Lambda whose description matches ${description}`);
  const roleId = (fn[1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Descriptions of the workflow's seven Lambdas (the stack also holds the API's and the events'). */
const WORKFLOW_LAMBDAS = [
  /^Validates a NodeTask/,
  /^Takes the per-cluster lock/,
  /^Creates the task object/,
  /^Starts \(or adopts\)/,
  /^Checks one node/,
  /^Records the task's outcome/,
  /^Deletes the credential Secret and releases the lock$/,
];

function workflowFunctions(template: Template): Array<[string, Resource]> {
  return resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) =>
    WORKFLOW_LAMBDAS.some((d) => d.test(String(r.Properties.Description))),
  );
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** A Fn::Join ARN rendered as text, with its intrinsics shown as <…>. */
function arnText(arn: unknown): string {
  if (typeof arn === 'string') return arn;
  const join = (arn as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return JSON.stringify(arn);
  return join[1].map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p)}>`)).join(join[0]);
}

describe('the Penetrator stack', () => {
  let template: Template;
  let definition: AslDefinition;

  beforeAll(() => {
    template = synthTemplate();
    definition = definitionOf(template);
  });

  it('installs nodes with a Distributed Map of Standard child executions fed by the plan', () => {
    const map = stateOf(definition, StateNames.installNodes);
    expect(map).not.toHaveProperty('ItemsPath');
    expect(map).toMatchObject({
      Type: 'Map',
      // The work list and the results are objects in the work bucket, never state (ADR 0019).
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: expect.stringContaining('WorkBucket') as unknown, 'Key.$': '$.work.listKey' },
      },
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: {
          Bucket: expect.stringContaining('WorkBucket') as unknown,
          'Prefix.$': '$.work.resultsPrefix',
        },
      },
      ItemSelector: { 'task.$': '$.task', 'node.$': '$$.Map.Item.Value' },
      MaxConcurrencyPath: '$.maxConcurrency',
      ToleratedFailurePercentage: 100,
      ResultPath: '$.results',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: StateNames.installNode,
      },
    });
  });

  it("retries a node's whole attempt with exponential backoff, full jitter and the default ceiling", () => {
    const processor = stateOf(definition, StateNames.installNodes).ItemProcessor as AslDefinition;
    const parallel = stateOf(processor, StateNames.installNode);
    expect(parallel.Type).toBe('Parallel');
    expect(parallel.Retry).toEqual([
      {
        ErrorEquals: [...attemptErrorNames, ErrorNames.Transient, 'States.Timeout'],
        IntervalSeconds: 30,
        BackoffRate: 2,
        MaxDelaySeconds: 600,
        MaxAttempts: 4,
        JitterStrategy: 'FULL',
      },
    ]);
    // The task's own limit is an error of its own that must reach the Catch, not the Retry.
    expect(parallel.Retry![0]!.ErrorEquals).not.toContain(ErrorNames.AttemptsExhausted);
  });

  it('takes the attempt ceiling and interval from the context', () => {
    const custom = definitionOf(
      synthTemplate({ [ContextKeys.attemptMaxRetries]: '2', [ContextKeys.attemptIntervalSeconds]: 5 }),
    );
    const processor = stateOf(custom, StateNames.installNodes).ItemProcessor as AslDefinition;
    expect(stateOf(processor, StateNames.installNode).Retry).toEqual([
      expect.objectContaining({ MaxAttempts: 2, IntervalSeconds: 5, BackoffRate: 2, JitterStrategy: 'FULL' }),
    ]);
  });

  it('records a failed node through the Catch of its attempt, with the error and the reason', () => {
    const processor = stateOf(definition, StateNames.installNodes).ItemProcessor as AslDefinition;
    expect(stateOf(processor, StateNames.installNode).Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.recordFailure },
    ]);
    expect(stateOf(processor, StateNames.installNode).Next).toBe(StateNames.recordSuccess);
    expect(stateOf(processor, StateNames.recordFailure)).toMatchObject({
      Type: 'Pass',
      Parameters: {
        'name.$': '$.node.name',
        'ip.$': '$.node.ip',
        state: 'failed',
        'error.$': '$.error.Error',
        'reason.$': '$.error.Cause',
      },
      End: true,
    });
    expect(stateOf(processor, StateNames.installNode).ResultSelector).toEqual({
      'name.$': '$[0].node.name',
      'ip.$': '$[0].node.ip',
      state: 'installed',
      'replaced.$': '$[0].check.replaced',
    });
  });

  it('cleans up after any error once the cluster holds objects of the task, and only then', () => {
    const catchTarget = (name: string) => ({
      name,
      next: stateOf(definition, name).Catch?.map((c) => [c.ErrorEquals, c.ResultPath, c.Next]),
    });
    const catchAll = (next: string) => [[['States.ALL'], '$.error', next]];
    for (const name of [
      StateNames.prepareCluster,
      StateNames.installNodes,
      StateNames.summarizeTask,
      StateNames.releaseCluster,
    ]) {
      expect(catchTarget(name)).toEqual({ name, next: catchAll(StateNames.cleanUpAfterError) });
    }
    for (const name of [StateNames.planTask, StateNames.takeClusterLock]) {
      expect(catchTarget(name)).toEqual({ name, next: catchAll(StateNames.taskAborted) });
    }
    expect(stateOf(definition, StateNames.cleanUpAfterError)).toMatchObject({
      Parameters: { 'task.$': '$.task', 'error.$': '$.error' },
      ResultPath: null,
      Next: StateNames.taskAborted,
    });
    expect(stateOf(definition, StateNames.taskAborted)).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    expect(stateOf(definition, StateNames.taskFailed)).toEqual({
      Type: 'Fail',
      Error: ErrorNames.NodesFailed,
      CausePath: '$.summary.message',
    });
  });

  it('gives every Lambda call the transient retry, and Check install alone its looks at a running install', () => {
    const processor = stateOf(definition, StateNames.installNodes).ItemProcessor as AslDefinition;
    const branch = (stateOf(processor, StateNames.installNode).Branches as AslDefinition[])[0]!;
    const tasks = Object.entries({ ...definition.States, ...branch.States }).filter(
      ([, s]) => s.Type === 'Task',
    );
    expect(tasks).toHaveLength(8);
    const transient = {
      ErrorEquals: [...transientErrorNames],
      IntervalSeconds: 2,
      MaxAttempts: 4,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    };
    const retries = Object.fromEntries(tasks.map(([name, task]) => [name, task.Retry]));
    const looks: unknown = expect.objectContaining({
      ErrorEquals: [ErrorNames.InstallRunning],
      MaxDelaySeconds: 120,
    });
    const expected = Object.fromEntries(
      tasks.map(([name]) => [name, name === StateNames.checkInstall ? [transient, looks] : [transient]]),
    );
    expect(retries).toEqual(expected);
  });

  it('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(definition, { checkPaths: true, checkArn: true });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    expect(definition.TimeoutSeconds).toBe(24 * 3600);
  });

  it('runs every Lambda on the newest Node.js runtime, arm64, traced, logging to its own group', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(workflowFunctions(template)).toHaveLength(7);
    for (const [, fn] of functions) {
      const runtime = String(fn.Properties.Runtime);
      expect(runtime).toMatch(/^nodejs\d+\.x$/);
      expect(Number(runtime.match(/\d+/)![0])).toBeGreaterThanOrEqual(22);
      expect(fn.Properties).toMatchObject({
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
      });
      expect(Object.keys(fn.Properties.LoggingConfig as object)).toContain('LogGroup');
      expect(fn.Properties.Environment).toMatchObject({
        Variables: { POWERTOOLS_SERVICE_NAME: 'penetrator' },
      });
    }
    for (const [, fn] of workflowFunctions(template)) {
      expect(fn.Properties.Environment).toMatchObject({
        Variables: { PENETRATOR_SECRET_PREFIX: 'penetrator/' },
      });
    }
    const retentions = resourcesOfType(template, 'AWS::Logs::LogGroup').map(
      ([, g]) => g.Properties.RetentionInDays,
    );
    // One group per Lambda plus the workflow's own, all with the configured retention.
    expect(retentions.length).toBeGreaterThan(functions.length);
    expect(new Set(retentions)).toEqual(new Set([30]));
    // No AWS managed policy: every permission is granted explicitly.
    for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets the Lambdas read only secrets under the product prefix, credentials only where needed', () => {
    const secretStatements = (description: RegExp) =>
      lambdaStatements(template, description).filter((s) =>
        actions(s).some((a) => a.startsWith('secretsmanager:')),
      );
    const secretResources = (description: RegExp) =>
      secretStatements(description).flatMap(resources).map(arnText);

    for (const description of [
      /^Validates a NodeTask/,
      /^Takes the per-cluster lock/,
      /^Creates the task object/,
      /^Starts \(or adopts\)/,
      /^Checks one node/,
      /^Records the task's outcome/,
      /^Deletes the credential Secret and releases the lock$/,
    ]) {
      const statements = secretStatements(description).filter(
        (s) => !actions(s).includes('secretsmanager:ListSecrets'),
      );
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        // Plan also reads the bounds (tags, no value) of the same secrets: one merged statement.
        const expected = description.source.includes('Validates a NodeTask')
          ? ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']
          : ['secretsmanager:GetSecretValue'];
        expect(actions(statement).sort()).toEqual(expected);
        for (const arn of resources(statement).map(arnText)) {
          expect(arn).not.toBe('*');
          expect(arn).toMatch(
            /^arn:<.+>:secretsmanager:<.+>:<.+>:secret:penetrator\/(clusters|credentials)\/\*$/,
          );
        }
      }
    }
    expect(secretResources(/^Validates a NodeTask/).some((a) => a.includes('credentials/'))).toBe(true);
    expect(secretResources(/^Creates the task object/).some((a) => a.includes('credentials/'))).toBe(true);
    const readingCredentials = [
      /^Takes the per-cluster lock/,
      /^Starts \(or adopts\)/,
      /^Checks one node/,
      /^Records the task's outcome/,
      /^Deletes the credential Secret and releases the lock$/,
    ].filter((d) => secretResources(d).some((a) => a.includes('credentials/')));
    expect(readingCredentials).toEqual([]);
  });

  it('grants the Lambdas nothing beyond their logs, X-Ray and those secrets; "*" only for X-Ray and listing', () => {
    const allowed = new Set([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'secretsmanager:GetSecretValue',
      'secretsmanager:ListSecrets',
      // Plan reads the bounds of a credential and a cluster from their tags (no value).
      'secretsmanager:DescribeSecret',
      // Summarize publishes the task's completion event (scope: test/infra/events.test.ts).
      'events:PutEvents',
      // The product's secrets key, through Secrets Manager only (scope: 'the secrets key' below).
      'kms:Decrypt',
      // The work list and results (scope: 'the work bucket' below).
      's3:GetObject',
      's3:PutObject',
    ]);
    const statements = [
      /^Validates a NodeTask/,
      /^Takes the per-cluster lock/,
      /^Creates the task object/,
      /^Starts \(or adopts\)/,
      /^Checks one node/,
      /^Records the task's outcome/,
      /^Deletes the credential Secret and releases the lock$/,
    ].flatMap((d) => lambdaStatements(template, d));
    expect(statements.flatMap(actions).filter((a) => !allowed.has(a))).toEqual([]);
    const wildcard = statements.filter((s) => resources(s).includes('*'));
    expect(new Set(wildcard.flatMap(actions))).toEqual(
      new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'secretsmanager:ListSecrets']),
    );
    // Only Plan lists secrets (to find the only registered cluster); the listing returns no values.
    const listing = [
      /^Takes the per-cluster lock/,
      /^Creates the task object/,
      /^Starts \(or adopts\)/,
      /^Checks one node/,
      /^Records the task's outcome/,
      /^Deletes the credential Secret and releases the lock$/,
    ].filter((d) =>
      lambdaStatements(template, d).some((s) => actions(s).includes('secretsmanager:ListSecrets')),
    );
    expect(listing).toEqual([]);
    expect(
      lambdaStatements(template, /^Validates a NodeTask/).some((s) =>
        actions(s).includes('secretsmanager:ListSecrets'),
      ),
    ).toBe(true);
  });

  it('lets the state machine invoke only its seven Lambdas and manage only its own executions', () => {
    const functionIds = new Set(workflowFunctions(template).map(([id]) => id));
    const [[machineId, machine] = []] = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
    const roleId = (machine!.Properties.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = resourcesOfType(template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const invoking = statements.filter((st) => actions(st).includes('lambda:InvokeFunction'));
    const managing = statements.filter((st) => actions(st).some((a) => a.startsWith('states:')));
    const others = statements.filter((st) => !invoking.includes(st) && !managing.includes(st));
    const targets = (list: Statement[]) => list.flatMap(resources).map((r) => JSON.stringify(r));

    expect(invoking.flatMap(actions)).toEqual(['lambda:InvokeFunction']);
    expect(new Set(targets(invoking).map((t) => /"Fn::GetAtt":\["([^"]+)","Arn"\]/.exec(t)?.[1]))).toEqual(
      functionIds,
    );
    expect(managing.length).toBeGreaterThan(0);
    expect(targets(managing).filter((t) => !t.includes(`"Ref":"${machineId}"`))).toEqual([]);
    // Besides logs and X-Ray, only the Map's reader and writer on the work bucket's objects.
    const bucketObjects = others.filter((st) => actions(st).some((a) => a.startsWith('s3:')));
    expect(new Set(targets(others.filter((st) => !bucketObjects.includes(st))))).toEqual(new Set(['"*"']));
    expect(targets(bucketObjects).every((t) => /WorkBucket[^"]*"\},"\/\*"/.test(t))).toBe(true);
    expect(new Set(bucketObjects.flatMap(actions))).toEqual(
      new Set(['s3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload']),
    );
    expect(
      others
        .filter((st) => !bucketObjects.includes(st))
        .flatMap(actions)
        .filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:')),
    ).toEqual([]);
  });

  it('scopes secret access to a custom prefix', () => {
    const custom = synthTemplate({ [ContextKeys.secretPrefix]: 'acme/edge/' });
    const arns = lambdaStatements(custom, /^Validates a NodeTask/)
      .filter((s) => actions(s).includes('secretsmanager:GetSecretValue'))
      .flatMap(resources)
      .map(arnText);
    expect(arns).toHaveLength(2);
    expect(arns[0]).toMatch(/:secret:acme\/edge\/clusters\/\*$/);
    expect(arns[1]).toMatch(/:secret:acme\/edge\/credentials\/\*$/);
  });

  it('traces executions with X-Ray and logs every event to a log group, without execution data', () => {
    const [[, machine] = []] = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
    expect(machine?.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
    });
    const destinations = (machine?.Properties.LoggingConfiguration as { Destinations: unknown[] })
      .Destinations;
    const [logGroupId] = (
      destinations[0] as { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }
    ).CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'];
    const logGroups = template.toJSON().Resources as Record<string, unknown>;
    expect(logGroups[logGroupId]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: '/aws/vendedlogs/states/Penetrator-workflow' },
    });
  });

  it('has an alarm for failed, timed-out and aborted executions, failed nodes and dead letters', () => {
    const alarm = (props: Record<string, unknown>) =>
      Object.keys(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', ...props },
        }),
      );
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(alarm({ Namespace: 'AWS/States', MetricName: metric, Statistic: 'Sum' })).toHaveLength(1);
    }
    expect(
      alarm({
        Namespace: 'Penetrator',
        MetricName: 'NodesFailed',
        Dimensions: [{ Name: 'service', Value: 'penetrator' }],
      }),
    ).toHaveLength(1);
    expect(alarm({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' })).toHaveLength(1);
    expect(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).toHaveLength(5);
    // Without an e-mail they only show in the console.
    expect(resourcesOfType(template, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('sends every alarm to the configured e-mail', () => {
    const withEmail = synthTemplate({ [ContextKeys.alarmEmail]: 'ops@example.com' });
    expect(
      Object.keys(
        withEmail.findResources('AWS::SNS::Subscription', {
          Properties: { Protocol: 'email', Endpoint: 'ops@example.com' },
        }),
      ),
    ).toHaveLength(1);
    const alarms = Object.values(withEmail.findResources('AWS::CloudWatch::Alarm')) as Array<{
      Properties: { AlarmActions?: unknown[] };
    }>;
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });

  it('puts the Lambdas in the configured subnets', () => {
    const inVpc = synthTemplate({
      [ContextKeys.vpcId]: 'vpc-0123456789abcdef0',
      [ContextKeys.subnetIds]: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
    });
    // Every Lambda may have to reach a private apiserver: the workflow's, the API's, the events'.
    const functions = resourcesOfType(inVpc, 'AWS::Lambda::Function');
    const subnets = functions.map(
      ([, fn]) => (fn.Properties.VpcConfig as { SubnetIds?: string[] } | undefined)?.SubnetIds,
    );
    expect(workflowFunctions(inVpc).length).toBe(7);
    expect(subnets).toEqual(
      Array(functions.length).fill(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']) as string[][],
    );
  });
});

describe('cdk-nag AwsSolutions', () => {
  const synthWithNag = (context: Record<string, unknown> = {}) => {
    const { app } = createApp({ context: { ...skipBundling, ...context } });
    return () => app.synth();
  };

  it('passes with every finding fixed or acknowledged with a reason', () => {
    expect(synthWithNag()).not.toThrow();
  });

  it('passes with the optional VPC, alarm and a custom prefix', () => {
    expect(
      synthWithNag({
        [ContextKeys.vpcId]: 'vpc-0123456789abcdef0',
        [ContextKeys.subnetIds]: ['subnet-0aaaaaaaaaaaaaaaa'],
        [ContextKeys.alarmEmail]: 'ops@example.com',
        [ContextKeys.secretPrefix]: 'acme/',
      }),
    ).not.toThrow();
  });

  it('fails when a wildcard permission is added without acknowledgement', async () => {
    const { PolicyStatement } = await import('aws-cdk-lib/aws-iam');
    const { app, stack } = createApp({ context: skipBundling });
    stack.functions.plan.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['arn:aws:secretsmanager:*:*:secret:*'],
      }),
    );
    expect(() => app.synth()).toThrow();
  });
});

describe('the secrets key', () => {
  type KeyStatement = Statement & { Condition?: Record<string, Record<string, unknown>> };
  let template: Template;

  beforeAll(() => {
    template = synthTemplate();
  });

  function theKey(): { id: string; key: Resource; statements: KeyStatement[] } {
    const keys = resourcesOfType(template, 'AWS::KMS::Key');
    if (keys.length !== 1) throw new Error(`expected one KMS key, found ${keys.length}`);
    const [id, key] = keys[0]!;
    return { id, key, statements: (key.Properties.KeyPolicy as { Statement: KeyStatement[] }).Statement };
  }

  /** Each Lambda's role id with the statements of its policies. */
  function lambdaRoles(): Array<{ description: string; roleId: string; statements: KeyStatement[] }> {
    return resourcesOfType(template, 'AWS::Lambda::Function').map(([, fn]) => {
      const description = String(fn.Properties.Description);
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const exact = new RegExp(`^${description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      return { description, roleId, statements: lambdaStatements(template, exact) };
    });
  }
  const uses = (statements: Statement[], action: string) =>
    statements.some((s) => actions(s).includes(action));
  const readers = () => lambdaRoles().filter((r) => uses(r.statements, 'secretsmanager:GetSecretValue'));
  const writers = () => lambdaRoles().filter((r) => uses(r.statements, 'secretsmanager:PutSecretValue'));
  const kmsOf = (statements: KeyStatement[]) =>
    statements.filter((s) => actions(s).some((a) => a.startsWith('kms:')));

  it('is customer-managed, rotated and kept when the stack is deleted', () => {
    const { key } = theKey();
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect((key as unknown as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
  });

  it('refuses the key for data to every principal but the roles that use product secrets', () => {
    const { statements } = theKey();
    const deny = statements.filter((s) => s.Effect === 'Deny');
    expect(deny).toHaveLength(1);
    expect(actions(deny[0]!)).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']));
    expect(deny[0]!.Resource).toBe('*');
    const admitted = (
      deny[0]!.Condition!.ArnNotEquals!['aws:PrincipalArn'] as Array<{ 'Fn::GetAtt': string[] }>
    ).map((arn) => arn['Fn::GetAtt'][0]);
    const secretUsers = [...readers(), ...writers()].map((r) => r.roleId);
    expect(secretUsers.length).toBeGreaterThan(9);
    expect(new Set(admitted)).toEqual(new Set(secretUsers));
    // The key policy allows no data use itself: only the account's administration of the key.
    const allowData = statements.filter(
      (s) =>
        s.Effect === 'Allow' && actions(s).some((a) => a === 'kms:Decrypt' || a === 'kms:GenerateDataKey'),
    );
    expect(allowData).toEqual([]);
  });

  it('lets readers decrypt through Secrets Manager only', () => {
    const { id } = theKey();
    const viaSecretsManager = {
      'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
    };
    const grants = readers().map((r) => kmsOf(r.statements).map((s) => ({ ...s, Sid: undefined })));
    expect(grants.length).toBeGreaterThan(8);
    for (const grant of grants) {
      expect(grant).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
          Condition: { StringEquals: { 'kms:ViaService': viaSecretsManager } },
        }),
      ]);
    }
  });

  it('lets only the API writers make data keys, through Secrets Manager', () => {
    const { id } = theKey();
    expect(writers()).toHaveLength(2);
    for (const writer of writers()) {
      const [grant, ...others] = kmsOf(writer.statements);
      expect(others).toEqual([]);
      expect(actions(grant!).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(grant!.Resource).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
      expect(Object.keys(grant!.Condition!.StringEquals!)).toEqual(['kms:ViaService']);
    }
    const makingKeys = lambdaRoles().filter((r) =>
      kmsOf(r.statements).some((s) => actions(s).includes('kms:GenerateDataKey')),
    );
    expect(makingKeys.map((r) => r.roleId).sort()).toEqual(
      writers()
        .map((r) => r.roleId)
        .sort(),
    );
    const others = lambdaRoles().filter(
      (r) =>
        !uses(r.statements, 'secretsmanager:GetSecretValue') &&
        !uses(r.statements, 'secretsmanager:PutSecretValue'),
    );
    expect(others.flatMap((r) => kmsOf(r.statements))).toEqual([]);
  });

  it('tells the API writers, and no other Lambda, to create secrets with the key', () => {
    const { id } = theKey();
    const keyEnv = resourcesOfType(template, 'AWS::Lambda::Function')
      .map(([, fn]) => ({
        description: String(fn.Properties.Description),
        value: (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables?.[SECRETS_KEY_ID_ENV],
      }))
      .filter((f) => f.value !== undefined);
    expect(keyEnv.map((f) => f.description).sort()).toEqual(
      writers()
        .map((w) => w.description)
        .sort(),
    );
    expect(keyEnv.map((f) => f.value)).toEqual(keyEnv.map(() => ({ 'Fn::GetAtt': [id, 'Arn'] })));
  });
});

describe('configuration', () => {
  const SHA = 'c'.repeat(64);
  /** The message synth fails with, or '' when it does not fail. */
  const configError = (context: Record<string, unknown>): string => {
    try {
      createApp({ context: { ...skipBundling, ...context }, nag: false });
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  };
  const problem = (key: string, received: string, expected: string) =>
    new RegExp(
      `^invalid Penetrator configuration[\\s\\S]*${key}: received ${received}; expected ${expected}`,
    );

  it('fails when the secret prefix does not end with a slash', () => {
    expect(configError({ [ContextKeys.secretPrefix]: 'penetrator' })).toMatch(
      problem(ContextKeys.secretPrefix, '"penetrator"', '.*ending with "/"'),
    );
  });

  it('fails when a VPC is given without subnets', () => {
    expect(configError({ [ContextKeys.vpcId]: 'vpc-0123456789abcdef0' })).toMatch(
      problem(ContextKeys.subnetIds, 'undefined', '.*set together'),
    );
  });

  it('fails when a subnet id is malformed', () => {
    const message = configError({
      [ContextKeys.vpcId]: 'vpc-0123456789abcdef0',
      [ContextKeys.subnetIds]: 'subnet-0aaaaaaaaaaaaaaaa,sub-1',
    });
    expect(message).toMatch(problem(ContextKeys.subnetIds, '".*sub-1"', 'a non-empty list'));
  });

  it('fails when the log retention is not one CloudWatch accepts', () => {
    expect(configError({ [ContextKeys.logRetentionDays]: 42 })).toMatch(
      problem(ContextKeys.logRetentionDays, '42', 'one of 1, 3, 5,'),
    );
  });

  it('fails when the package source has an unknown kind', () => {
    expect(configError({ [ContextKeys.packageSource]: 'ftp://mirror/edgeadm.tgz' })).toMatch(
      problem(ContextKeys.packageSource, '"ftp://mirror/edgeadm.tgz"', '"image:/absolute/path"'),
    );
  });

  it('builds installer/Dockerfile as an image asset for the Jobs, unless an image is given', () => {
    const imageOf = (template: Template): unknown => {
      const [[, fn] = []] = resourcesOfType(template, 'AWS::Lambda::Function');
      return (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .PENETRATOR_INSTALLER_IMAGE;
    };
    const outdir = mkdtempSync(join(tmpdir(), 'penetrator-image-'));
    try {
      const { app, stack } = createApp({ context: skipBundling, nag: false, outdir });
      app.synth();
      const manifest = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8')) as {
        dockerImages: Record<string, { source: { directory: string } }>;
      };
      const hashes = Object.keys(manifest.dockerImages);
      expect(hashes).toHaveLength(1);
      const staged = join(outdir, manifest.dockerImages[hashes[0]!]!.source.directory);
      expect(readFileSync(join(staged, 'Dockerfile'), 'utf8')).toBe(
        readFileSync(join(projectRoot, 'installer/Dockerfile'), 'utf8'),
      );
      // The asset's ECR URI, resolved at deploy: a CloudFormation expression ending in the asset's tag.
      expect(JSON.stringify(imageOf(Template.fromStack(stack)))).toContain(`:${hashes[0]}`);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    const given = synthTemplate({ [ContextKeys.installerImage]: 'registry.example.com/edge/installer:1.0' });
    expect(imageOf(given)).toBe('registry.example.com/edge/installer:1.0');
  });

  it('refuses to synthesize without a package source, saying how to give one', () => {
    const message = configError({ [ContextKeys.packageSource]: '' });
    expect(message).toMatch(problem(ContextKeys.packageSource, '""', '"image:/absolute/path"'));
    expect(message).toContain(`-c ${ContextKeys.packageSource}=`);
    expect(message).toContain('"none" when every task uses the kubeadm profile');
  });

  it('synthesizes without a package when every task uses kubeadm', () => {
    const template = synthTemplate({
      [ContextKeys.packageSource]: 'none',
      [ContextKeys.packageSha256]: undefined,
    });
    const [[, fn] = []] = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(fn?.Properties.Environment).toMatchObject({
      Variables: { PENETRATOR_PACKAGE_SOURCE: JSON.stringify({ kind: 'none' }) },
    });
  });

  it('fails when the attempt ceiling is not a small non-negative integer', () => {
    expect(configError({ [ContextKeys.attemptMaxRetries]: '-1' })).toMatch(
      problem(ContextKeys.attemptMaxRetries, '"-1"', 'an integer from 0 to 20'),
    );
    expect(configError({ [ContextKeys.attemptMaxRetries]: 2.5 })).toMatch(
      problem(ContextKeys.attemptMaxRetries, '2.5', 'an integer'),
    );
  });

  it('fails when the retry delay cap is below the interval', () => {
    const message = configError({
      [ContextKeys.attemptIntervalSeconds]: 60,
      [ContextKeys.attemptMaxDelaySeconds]: 30,
    });
    expect(message).toMatch(problem(ContextKeys.attemptMaxDelaySeconds, '30', 'at least'));
  });

  it('fails listing every problem at once', () => {
    const message = configError({
      [ContextKeys.installerImage]: 'Not An Image',
      [ContextKeys.alarmEmail]: 'nobody',
    });
    expect(message).toMatch(problem(ContextKeys.installerImage, '"Not An Image"', 'an image reference'));
    expect(message).toMatch(problem(ContextKeys.alarmEmail, '"nobody"', 'an e-mail address'));
  });

  it('accepts a URL package source and hands a hostPath one to the Lambdas', () => {
    expect(configError({ [ContextKeys.packageSource]: 'url:https://mirror.example.com/edgeadm.tgz' })).toBe(
      '',
    );
    expect(
      configError({ [ContextKeys.packageSource]: 'url:http://mirror.example.com/edgeadm.tgz' }),
    ).toContain(ContextKeys.packageSource);
    const template = synthTemplate({
      [ContextKeys.packageSource]: 'hostPath:/data/edgeadm',
      [ContextKeys.packageSha256]: SHA,
    });
    const [[, fn] = []] = resourcesOfType(template, 'AWS::Lambda::Function');
    expect(fn?.Properties.Environment).toMatchObject({
      Variables: {
        PENETRATOR_PACKAGE_SOURCE: JSON.stringify({ kind: 'hostPath', path: '/data/edgeadm', sha256: SHA }),
      },
    });
  });

  it('refuses a package source without its sha256, or with a malformed one, naming the key', () => {
    const missing = configError({ [ContextKeys.packageSha256]: undefined });
    expect(missing).toMatch(
      problem(ContextKeys.packageSha256, 'undefined', "the package's sha256 as 64 lower-case hex digits"),
    );
    for (const bad of [SHA.toUpperCase(), SHA.slice(1), `amd64=${SHA},arm64=xyz`, `riscv=${SHA}`]) {
      expect(configError({ [ContextKeys.packageSha256]: bad })).toContain(
        `${ContextKeys.packageSha256}: received ${JSON.stringify(bad)}; expected`,
      );
    }
    expect(configError({ [ContextKeys.packageSource]: 'none', [ContextKeys.packageSha256]: SHA })).toContain(
      `${ContextKeys.packageSha256}: received`,
    );
  });

  it('hands the Lambdas one sha256 per architecture for a {arch} package', () => {
    const [[, fn] = []] = resourcesOfType(synthTemplate(), 'AWS::Lambda::Function');
    const variables = (fn?.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(JSON.parse(variables.PENETRATOR_PACKAGE_SOURCE!)).toEqual({
      kind: 'url',
      url: 'https://packages.example.com/edgeadm-linux-{arch}-v0.9.0.tgz',
      sha256: { amd64: 'a'.repeat(64), arm64: 'b'.repeat(64) },
    });
  });
});
