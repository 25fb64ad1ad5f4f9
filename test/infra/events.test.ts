import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config';
import { synthTemplate } from './helpers';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

const SCHEDULE = {
  cron: '0 3 ? * SUN *',
  cluster: 'edge',
  labelSelector: 'role=edge',
  sshCredential: 'login-secret',
};

function resources(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

function functionId(template: Template, description: RegExp): string {
  const found = resources(template, 'AWS::Lambda::Function').find(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  if (!found) throw new Error(`no Lambda whose description matches ${description}`);
  return found[0];
}

function roleStatements(template: Template, fnId: string): Statement[] {
  const fn = (template.toJSON() as { Resources: Record<string, Resource> }).Resources[fnId]!;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the events and the dashboard', () => {
  let template: Template;
  let busId: string;
  let queueId: string;

  beforeAll(() => {
    template = synthTemplate({ 'penetrator:reinstallSchedule': SCHEDULE });
    [[busId]] = resources(template, 'AWS::Events::EventBus') as [[string, Resource]];
    [[queueId]] = resources(template, 'AWS::SQS::Queue') as [[string, Resource]];
  }, 120_000);

  it('has the product bus, named penetrator by default', () => {
    expect(() =>
      template.hasResourceProperties('AWS::Events::EventBus', { Name: 'penetrator' }),
    ).not.toThrow();
  });

  it('sends Reinstall Nodes events on the bus to the reinstall Lambda, with retries and a DLQ', () => {
    const reinstall = functionId(template, /Reinstall Nodes event/);
    expect(() =>
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: busId },
        EventPattern: { source: ['penetrator'], 'detail-type': ['Reinstall Nodes'] },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [reinstall, 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
          }),
        ],
      }),
    ).not.toThrow();
    expect(() =>
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: reinstall },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      }),
    ).not.toThrow();
  });

  it("cleans up after this state machine's aborted, timed-out and failed executions", () => {
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const ended = functionId(template, /aborted or timed-out execution/);
    const [rule] = resources(template, 'AWS::Events::Rule').filter(
      // The sync's schedule rule has no pattern.
      ([, r]) => (r.Properties.EventPattern as { source?: string[] } | undefined)?.source?.[0] === 'aws.states',
    );
    expect(rule?.[1].Properties).toMatchObject({
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [{ Ref: machineId }] },
      },
      Targets: [
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [ended, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        }),
      ],
    });
    // On the default bus: Step Functions publishes there.
    expect(rule?.[1].Properties.EventBusName).toBeUndefined();
    const describe = roleStatements(template, ended).filter((s) =>
      actionsOf(s).includes('states:DescribeExecution'),
    );
    expect(JSON.stringify(describe)).toContain(':execution:Penetrator-workflow:*');
  });

  it('lets only the summarize Lambda put events, on the product bus only, and tells it the bus', () => {
    const putters = resources(template, 'AWS::Lambda::Function').filter(([id]) =>
      roleStatements(template, id).some((s) => actionsOf(s).includes('events:PutEvents')),
    );
    const summarize = functionId(template, /outcome in the cluster/);
    expect(putters.map(([id]) => id)).toEqual([summarize]);
    const put = roleStatements(template, summarize).filter((s) => actionsOf(s).includes('events:PutEvents'));
    expect(put).toEqual([expect.objectContaining({ Resource: { 'Fn::GetAtt': [busId, 'Arn'] } })]);
    expect(() =>
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('outcome in the cluster'),
        Environment: { Variables: Match.objectLike({ PENETRATOR_EVENT_BUS: { Ref: busId } }) },
      }),
    ).not.toThrow();
  });

  it('lets the reinstall Lambda start and list executions of this state machine only', () => {
    const reinstall = functionId(template, /Reinstall Nodes event/);
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine') as [[string, Resource]];
    for (const action of ['states:StartExecution', 'states:ListExecutions']) {
      const granted = roleStatements(template, reinstall).filter((s) => actionsOf(s).includes(action));
      expect({ action, granted }).toEqual({
        action,
        granted: [expect.objectContaining({ Resource: { Ref: machineId } })],
      });
    }
  });

  it('keeps undeliverable events in an encrypted queue reachable over TLS only', () => {
    expect(() =>
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true }),
    ).not.toThrow();
    expect(() =>
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      }),
    ).not.toThrow();
  });

  it('schedules Reinstall Nodes events carrying the label selector when configured', () => {
    expect(() =>
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 3 ? * SUN *)',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [busId, 'Arn'] },
          EventBridgeParameters: { DetailType: 'Reinstall Nodes', Source: 'penetrator' },
          Input: JSON.stringify({
            cluster: 'edge',
            labelSelector: 'role=edge',
            sshCredential: 'login-secret',
          }),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 3600 },
        }),
      }),
    ).not.toThrow();
  });

  it('has no schedule unless configured', () => {
    expect(Object.keys(synthTemplate().findResources('AWS::Scheduler::Schedule'))).toEqual([]);
  });

  it('keeps the alarm on failed executions', () => {
    expect(() =>
      synthTemplate({ 'penetrator:alarmEmail': 'ops@example.com' }).hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        {
          MetricName: 'ExecutionsFailed',
          Namespace: 'AWS/States',
        },
      ),
    ).not.toThrow();
  });

  it('has a dashboard with the executions, nodes, failure rate, durations, Lambda health and recent failures', () => {
    const [[, dashboard]] = resources(template, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of [
      'Executions',
      'Running executions',
      'Nodes installed vs failed',
      'Fleet failure rate (%)',
      'Install duration (s)',
      'Lambda errors',
      'Lambda throttles',
      'Recent failures',
    ]) {
      expect(body).toContain(`\\"title\\":\\"${title}\\"`);
    }
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsAborted',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('100 * f / (i + f)');
    expect(body).toContain('\\"stat\\":\\"p50\\"');
    expect(body).toContain('\\"stat\\":\\"p90\\"');
    expect(body).toMatch(/Penetrator\\",\\"NodesInstalled\\",\\"service\\",\\"penetrator/);
    expect(body).toContain('fields @timestamp, task, cluster, node');
  });
});

describe('the reinstall schedule context', () => {
  const load = (value: unknown) => () =>
    loadConfig((key) =>
      key === 'penetrator:reinstallSchedule'
        ? value
        : key === 'penetrator:packageSource'
          ? 'none'
          : undefined,
    );

  it('accepts the object or its JSON', () => {
    expect(load(SCHEDULE)().reinstallSchedule).toEqual(SCHEDULE);
    expect(load(JSON.stringify({ ...SCHEDULE, proxyNode: 'proxy-0' }))().reinstallSchedule).toEqual({
      ...SCHEDULE,
      proxyNode: 'proxy-0',
    });
  });

  it('fails with every problem: what was received and what is expected', () => {
    expect(load({ cron: 'cron(0 3 * * ? *)', cluster: 'edge', sshCredential: 'x', colour: 1 })).toThrow(
      [
        'invalid Penetrator configuration (CDK context):',
        '  penetrator:reinstallSchedule.colour: unknown field; expected only cron, cluster, labelSelector, sshCredential, proxyNode',
        '  penetrator:reinstallSchedule.cron: received "cron(0 3 * * ? *)"; expected six cron fields like "0 3 ? * SUN *" (without cron(…))',
        '  penetrator:reinstallSchedule.labelSelector: received undefined; expected a label selector like "role=edge"',
      ].join('\n'),
    );
    expect(load('not json')).toThrow('penetrator:reinstallSchedule: received "not json"; expected an object');
  });
});
