import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/create-app';
import { FUNCTION_RUNTIME } from '../../infra/constructs/penetrator-function';
import { apiRoutes } from '../../lambdas/api/routes';
import { skipBundling, synthTemplate } from './helpers';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const API_DESCRIPTION = /^HTTP API: /;

function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** A Fn::Join ARN as text, intrinsics shown as <…>. */
function arnText(arn: unknown): string {
  if (typeof arn === 'string') return arn;
  const join = (arn as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return `<${JSON.stringify(arn)}>`;
  return join[1].map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p)}>`)).join(join[0]);
}

describe('the HTTP API', () => {
  let template: Template;
  let apiFunctions: Array<[string, Resource]>;

  /** Statements of the policies on the role of the API Lambda whose description matches. */
  function statementsOf(description: RegExp): Statement[] {
    const [fn] = apiFunctions.filter(([, r]) => description.test(String(r.Properties.Description)));
    if (!fn) throw new Error(`no API Lambda whose description matches ${description}`);
    const roleId = (fn[1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return resourcesOfType(template, 'AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  }

  beforeAll(() => {
    template = synthTemplate();
    apiFunctions = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) =>
      API_DESCRIPTION.test(String(r.Properties.Description)),
    );
  });

  it('is a regional REST API whose every method is IAM-authorised and validated', () => {
    const [[, api]] = resourcesOfType(template, 'AWS::ApiGateway::RestApi') as [[string, Resource]];
    expect(api.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });

    const methods = resourcesOfType(template, 'AWS::ApiGateway::Method');
    expect(methods).toHaveLength(apiRoutes.length);
    const validators = resourcesOfType(template, 'AWS::ApiGateway::RequestValidator');
    expect(validators).toHaveLength(1);
    const [[validatorId, validator]] = validators as [[string, Resource]];
    expect(validator.Properties).toMatchObject({
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    for (const [, method] of methods) {
      expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(method.Properties.RequestValidatorId).toEqual({ Ref: validatorId });
      expect(method.Properties.Integration).toMatchObject({
        Type: 'AWS_PROXY',
        IntegrationHttpMethod: 'POST',
      });
    }
  });

  it('validates the credential and kubeconfig bodies against models rendered from the zod schemas', () => {
    const models = Object.fromEntries(
      resourcesOfType(template, 'AWS::ApiGateway::Model').map(([id, m]) => [id, m.Properties]),
    );
    const bodies = resourcesOfType(template, 'AWS::ApiGateway::Method')
      .filter(([, m]) => m.Properties.RequestModels !== undefined)
      .map(([, m]) => {
        const ref = (m.Properties.RequestModels as Record<string, { Ref: string }>)['application/json']!.Ref;
        return { method: m.Properties.HttpMethod, schema: models[ref]!.Schema as Record<string, unknown> };
      });
    expect(bodies.map((b) => b.method)).toEqual(['PUT', 'PUT']);
    const [credential, cluster] = bodies.map((b) => b.schema);
    expect(credential).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      anyOf: [
        { required: ['passwd'], additionalProperties: false, properties: { passwd: { maxLength: 1024 } } },
        { required: ['sshkey'], additionalProperties: false },
      ],
    });
    expect(cluster).toMatchObject({ required: ['kubeconfig'], additionalProperties: false });
  });

  it('keeps bodies out of its logs: access log to a group, tracing, throttling, no data trace', () => {
    const [[, stage]] = resourcesOfType(template, 'AWS::ApiGateway::Stage') as [[string, Resource]];
    expect(stage.Properties).toMatchObject({
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
        }),
      ],
    });
    const access = stage.Properties.AccessLogSetting as { Format: string; DestinationArn: unknown };
    expect(arnText(access.DestinationArn)).toMatch(/:log-group:<\{"Ref":"ApiAccessLogs[0-9A-F]+"\}>$/);
    const format = access.Format;
    expect(Object.keys(JSON.parse(format) as object)).toEqual(
      expect.arrayContaining(['requestId', 'userArn', 'status', 'integrationError']),
    );
    expect(format).not.toMatch(/body|validationErrorString/i);
    // No account-wide API Gateway role taken over by this stack.
    expect(resourcesOfType(template, 'AWS::ApiGateway::Account')).toEqual([]);
  });

  it('runs three Lambdas from the shared construct: newest runtime, arm64, traced', () => {
    expect(apiFunctions).toHaveLength(3);
    for (const [, fn] of apiFunctions) {
      expect(fn.Properties).toMatchObject({
        Runtime: FUNCTION_RUNTIME.name,
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Timeout: 29,
      });
    }
    const [[, tasks]] = apiFunctions.filter(([, f]) =>
      /NodeTasks/.test(String(f.Properties.Description)),
    ) as [[string, Resource]];
    const env = (tasks.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.stringify(env.PENETRATOR_STATE_MACHINE_ARN)).toMatch(
      /^\{"Ref":"WorkflowStateMachine[0-9A-F]+"\}$/,
    );
  });

  it('lets the tasks Lambda drive only this state machine and its executions, and read only kubeconfigs', () => {
    const statements = statementsOf(/NodeTasks/);
    const states = statements.filter((s) => actions(s).some((a) => a.startsWith('states:')));
    expect(states.flatMap(actions).sort()).toEqual([
      'states:DescribeExecution',
      'states:ListExecutions',
      'states:StartExecution',
      'states:StopExecution',
    ]);
    const scopes = Object.fromEntries(
      states.flatMap((s) => actions(s).map((a) => [a, resources(s).map(arnText)] as const)),
    );
    const machine = expect.stringMatching(/^<\{"Ref":"WorkflowStateMachine[0-9A-F]+"\}>$/) as unknown;
    const executions = expect.stringMatching(
      /:states:<.+>:<.+>:execution:Penetrator-workflow:\*$/,
    ) as unknown;
    expect(scopes).toEqual({
      'states:StartExecution': [machine],
      'states:ListExecutions': [machine],
      'states:DescribeExecution': [executions],
      'states:StopExecution': [executions],
    });
    const secrets = statements.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    const reads = secrets.filter((s) => actions(s).includes('secretsmanager:GetSecretValue'));
    expect(reads.flatMap(resources).map(arnText)).toEqual([
      expect.stringMatching(/:secretsmanager:<.+>:<.+>:secret:penetrator\/clusters\/\*$/),
    ]);
  });

  it('lets the registration Lambdas write only under their prefix, and never read a value back', () => {
    for (const [description, kind] of [
      [/credentials/, 'credentials'],
      [/register clusters/, 'clusters'],
    ] as const) {
      const statements = statementsOf(description);
      expect(statements.flatMap(actions)).not.toContain('secretsmanager:GetSecretValue');
      expect(statements.flatMap(actions).some((a) => a.startsWith('states:'))).toBe(false);
      const writes = statements.filter((s) => actions(s).includes('secretsmanager:PutSecretValue'));
      expect(writes.flatMap(actions).sort()).toEqual([
        'secretsmanager:CreateSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:PutSecretValue',
      ]);
      expect(writes.flatMap(resources).map(arnText)).toEqual([
        expect.stringMatching(new RegExp(`:secret:penetrator/${kind}/\\*$`)),
      ]);
    }
  });

  it('uses "*" for Secrets Manager only to list secrets, which has no resource-level permission', () => {
    for (const [, fn] of apiFunctions) {
      const statements = statementsOf(
        new RegExp(`^${String(fn.Properties.Description).replace(/[()]/g, '.')}$`),
      );
      const wildcard = statements.filter((s) => resources(s).includes('*'));
      const wildcardSecrets = wildcard.flatMap(actions).filter((a) => a.startsWith('secretsmanager:'));
      expect(wildcardSecrets.every((a) => a === 'secretsmanager:ListSecrets')).toBe(true);
      expect(wildcard.flatMap(actions).filter((a) => a.startsWith('states:'))).toEqual([]);
    }
    expect(statementsOf(/credentials/).flatMap(actions)).not.toContain('secretsmanager:ListSecrets');
  });

  it('outputs the API URL as ApiUrl', () => {
    expect(template.toJSON().Outputs).toHaveProperty('ApiUrl');
  });

  it('passes cdk-nag with every finding fixed or acknowledged', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'penetrator-api-nag-'));
    try {
      const { app } = createApp({ context: skipBundling, outdir });
      expect(() => app.synth()).not.toThrow();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
