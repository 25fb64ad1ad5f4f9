import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdkJsonContext, createApp } from '../../infra/create-app';
import { FUNCTION_RUNTIME, PenetratorFunction } from '../../infra/constructs/penetrator-function';
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
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:PutSecretValue',
        'secretsmanager:TagResource',
        'secretsmanager:UntagResource',
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

describe('the API handlers, bundled as deployed', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'penetrator-api-bundle-'));
  const logLevel = process.env.POWERTOOLS_LOG_LEVEL;
  // The bundles build their logger when loaded; their request lines would only clutter the output.
  beforeAll(() => {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  });
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    if (logLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = logLevel;
  });

  /** Bundles one handler through the shared construct and loads the bundle as Lambda would. */
  async function bundled(
    group: string,
  ): Promise<(e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> {
    const app = new App({ context: cdkJsonContext(), outdir: join(outdir, group) });
    new PenetratorFunction(new Stack(app, 'Probe'), 'Probe', {
      entry: `lambdas/handlers/api-${group}.ts`,
      description: 'bundling probe',
      logRetention: RetentionDays.ONE_DAY,
    });
    app.synth();
    const [asset] = readdirSync(join(outdir, group)).filter((d) => d.startsWith('asset.'));
    const module = (await import(pathToFileURL(join(outdir, group, asset!, 'index.mjs')).href)) as {
      handler: (e: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
    };
    return module.handler;
  }

  const request = (method: string, resource: string, body: string, name?: string) =>
    ({
      httpMethod: method,
      resource,
      pathParameters: name ? { name } : null,
      queryStringParameters: null,
      headers: { 'Content-Type': 'application/json' },
      body,
      isBase64Encoded: false,
      requestContext: { requestId: 'bundle-1' },
    }) as unknown as APIGatewayProxyEvent;

  it('answers an invalid NodeTask from the tasks bundle with the validation problems', async () => {
    const handler = await bundled('tasks');
    const response = await handler(request('POST', '/tasks', '{"kind": "NodeTask"}'));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      message: 'invalid NodeTask',
      problems: expect.arrayContaining([expect.stringMatching(/^apiVersion: missing/)]) as unknown,
    });
  });

  it('answers a malformed credential from the credentials bundle without calling AWS', async () => {
    const handler = await bundled('credentials');
    const response = await handler(request('PUT', '/credentials/{name}', '{"passwd": ""}', 'login'));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ message: 'invalid request body: passwd: is empty' });
  });
});
