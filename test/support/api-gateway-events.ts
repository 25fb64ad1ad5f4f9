/**
 * Requests as API Gateway's REST proxy integration hands them to the Lambda, generated from the
 * routes the synthesized template deploys (its Resources, Methods and their integrations), so a
 * test that calls a route the stack does not deploy, or on the wrong function, fails.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

type Resource = { Type?: string; Properties?: Record<string, unknown> };
export interface TemplateJson {
  Resources?: Record<string, Resource>;
}

export interface DeployedRoute {
  method: string;
  /** `/tasks/{name}`: the resource path as API Gateway reports it. */
  resource: string;
  /** Query parameters the method declares (API Gateway passes any, validates the required ones). */
  query: string[];
  /** Logical id of the function the integration invokes. */
  functionId: string;
}

type Ref = { Ref?: string; 'Fn::GetAtt'?: [string, string] };

function pathOf(id: string, resources: Record<string, Resource>): string {
  const props = resources[id]?.Properties ?? {};
  const parent = props.ParentId as Ref;
  const prefix = parent.Ref ? pathOf(parent.Ref, resources) : '';
  return `${prefix}/${String(props.PathPart)}`;
}

function integrationFunction(uri: unknown): string {
  const parts = (uri as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']?.[1] ?? [];
  const target = parts.find((p): p is Ref => typeof p === 'object' && p !== null && 'Fn::GetAtt' in p);
  const id = target?.['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`integration URI ${JSON.stringify(uri)}: expected a Lambda function's Arn`);
  return id;
}

/** Every method of the template's REST API with its resource path and the function behind it. */
export function deployedRoutes(template: TemplateJson): DeployedRoute[] {
  const resources = template.Resources ?? {};
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::ApiGateway::Method')
    .map((r) => {
      const props = r.Properties ?? {};
      const resourceId = (props.ResourceId as Ref).Ref;
      const parameters = Object.keys((props.RequestParameters ?? {}));
      return {
        method: String(props.HttpMethod),
        resource: resourceId ? pathOf(resourceId, resources) : '/',
        query: parameters
          .filter((p) => p.startsWith('method.request.querystring.'))
          .map((p) => p.slice('method.request.querystring.'.length)),
        functionId: integrationFunction((props.Integration as { Uri?: unknown }).Uri),
      };
    });
}

function matches(resource: string, path: string): Record<string, string> | undefined {
  const want = resource.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const value = got[i]!;
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (name && value !== '') parameters[name] = decodeURIComponent(value);
    else if (part !== value) return undefined;
  }
  return parameters;
}

export interface RequestOptions {
  body?: string;
  contentType?: string;
  /** The caller API Gateway's IAM authorisation identified. */
  userArn?: string;
}

const STAGE = 'v1';

/**
 * Builds the proxy event of `method url` (path and query, as a client sends them) for the deployed
 * route it matches; throws when no deployed route serves it, as API Gateway would refuse it.
 */
export function apiGatewayRequest(
  routes: readonly DeployedRoute[],
  method: string,
  url: string,
  options: RequestOptions = {},
): APIGatewayProxyEvent & { route: DeployedRoute } {
  const { pathname, searchParams } = new URL(url, 'https://api.invalid');
  const found = routes
    .map((route) => ({
      route,
      parameters: route.method === method ? matches(route.resource, pathname) : undefined,
    }))
    .find((m) => m.parameters !== undefined);
  if (!found?.parameters) throw new Error(`no deployed route serves ${method} ${pathname}`);
  const query = Object.fromEntries(searchParams);
  const headers: Record<string, string> = {
    Host: 'api.invalid',
    'X-Amz-Date': '20260101T000000Z',
    ...(options.contentType ? { 'Content-Type': options.contentType } : {}),
  };
  const userArn = options.userArn ?? 'arn:aws:iam::123456789012:user/operator';
  const requestId = randomUUID();
  return {
    route: found.route,
    httpMethod: method,
    resource: found.route.resource,
    path: pathname,
    pathParameters: Object.keys(found.parameters).length > 0 ? found.parameters : null,
    queryStringParameters: searchParams.size > 0 ? query : null,
    multiValueQueryStringParameters:
      searchParams.size > 0
        ? Object.fromEntries([...new Set(searchParams.keys())].map((k) => [k, searchParams.getAll(k)]))
        : null,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    // The REST API declares no binary media types: a body arrives as the text sent, not base64.
    body: options.body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/${STAGE}${pathname}`,
      stage: STAGE,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: found.route.resource,
      identity: {
        accessKey: 'AKIAEXAMPLE',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: 'AIDAEXAMPLE',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: 'AIDAEXAMPLE',
        userAgent: 'penetrator-test',
        userArn,
      },
    },
  };
}
