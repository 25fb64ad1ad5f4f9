import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config';
import { synthTemplate } from './helpers';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown };

const DESCRIPTION = /NodeTasks applied with kubectl/;

function resources(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

function syncFunctionId(template: Template): string {
  const found = resources(template, 'AWS::Lambda::Function').filter(([, r]) =>
    DESCRIPTION.test(String(r.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return found[0]![0];
}

/** The rules whose target is the sync Lambda. */
function syncRules(template: Template): Resource[] {
  const fnId = syncFunctionId(template);
  return resources(template, 'AWS::Events::Rule')
    .map(([, r]) => r)
    .filter((r) =>
      (r.Properties.Targets as Array<{ Arn: unknown }>).some(
        (t) => JSON.stringify(t.Arn) === JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }),
      ),
    );
}

function statementsOf(template: Template): Statement[] {
  const fnId = syncFunctionId(template);
  const fn = (template.toJSON() as { Resources: Record<string, Resource> }).Resources[fnId]!;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('the NodeTask sync', () => {
  let template: Template;

  beforeAll(() => {
    template = synthTemplate();
  }, 120_000);

  it('runs the sync Lambda every minute by default, with no retry (the next run looks again)', () => {
    const rules = syncRules(template);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rules[0]!.Properties.Targets).toEqual([
      expect.objectContaining({ RetryPolicy: { MaximumRetryAttempts: 0 } }),
    ]);
  });

  it('runs at the interval the context gives', () => {
    const rules = syncRules(synthTemplate({ 'penetrator:syncIntervalMinutes': '5' }));
    expect(rules.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(5 minutes)']);
  });

  it('lets the Lambda start, list, describe and stop executions of this state machine only', () => {
    const [[machineId]] = resources(template, 'AWS::StepFunctions::StateMachine') as [[string, Resource]];
    const statements = statementsOf(template);
    const on = (action: string) =>
      statements.filter((s) => actionsOf(s).includes(action)).map((s) => JSON.stringify(s.Resource));
    for (const action of ['states:StartExecution', 'states:ListExecutions']) {
      expect({ action, on: on(action) }).toEqual({ action, on: [JSON.stringify({ Ref: machineId })] });
    }
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect({ action, on: on(action) }).toEqual({ action, on: [expect.stringContaining(':execution:')] });
      expect(on(action)[0]).toContain('-workflow:*');
    }
  });

  it('lets the Lambda read kubeconfigs, never SSH credentials, and list the registered clusters', () => {
    const statements = statementsOf(template);
    const reads = statements
      .filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
      .map((s) => JSON.stringify(s.Resource));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain('penetrator/clusters/*');
    expect(reads.join()).not.toContain('credentials');
    expect(statements.some((s) => actionsOf(s).includes('secretsmanager:ListSecrets'))).toBe(true);
    expect(statements.some((s) => actionsOf(s).some((a) => a.startsWith('events:')))).toBe(false);
  });
});

describe('the sync interval context', () => {
  const load = (value: unknown) => () =>
    loadConfig((key) =>
      key === 'penetrator:syncIntervalMinutes'
        ? value
        : key === 'penetrator:packageSource'
          ? 'none'
          : undefined,
    );

  it('defaults to one minute and takes whole minutes up to a day', () => {
    expect(load(undefined)().syncIntervalMinutes).toBe(1);
    expect(load(15)().syncIntervalMinutes).toBe(15);
    expect(load(0)).toThrow('penetrator:syncIntervalMinutes: received 0; expected an integer from 1 to 1440');
    expect(load('1m')).toThrow(
      'penetrator:syncIntervalMinutes: received "1m"; expected an integer from 1 to 1440',
    );
  });
});
