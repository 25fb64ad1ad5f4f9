// The proxy events the integration suites send are generated from the deployed routes: check the
// generator reads the template as API Gateway would route.
import { beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lambdas/api/routes';
import {
  apiGatewayRequest,
  type DeployedRoute,
  deployedRoutes,
  type TemplateJson,
} from '../support/api-gateway-events';
import { synthTemplate } from './helpers';

describe('API Gateway requests from the deployed routes', () => {
  let template: TemplateJson;
  let routes: DeployedRoute[];

  beforeAll(() => {
    template = synthTemplate().toJSON();
    routes = deployedRoutes(template);
  });

  const descriptionOf = (id: string) => String(template.Resources?.[id]?.Properties?.Description);

  it('are every route of the router, each on the function of its group', () => {
    const groups: Record<string, string> = {
      'HTTP API: submit, list, describe and cancel NodeTasks': 'tasks',
      'HTTP API: store SSH credentials (write-only)': 'credentials',
      'HTTP API: register clusters and list them': 'clusters',
    };
    const deployed = routes.map((r) => `${r.method} ${r.resource} ${groups[descriptionOf(r.functionId)]}`);
    expect(deployed.sort()).toEqual(apiRoutes.map((r) => `${r.method} ${r.path} ${r.group}`).sort());
  });

  it('fill the resource, decoded path parameters, query, headers and the caller as the proxy integration does', () => {
    const request = apiGatewayRequest(routes, 'GET', '/tasks/add%20nodes?cluster=edge', {
      userArn: 'arn:aws:iam::123456789012:user/op',
    });
    expect(request).toMatchObject({
      httpMethod: 'GET',
      resource: '/tasks/{name}',
      path: '/tasks/add%20nodes',
      pathParameters: { name: 'add nodes' },
      queryStringParameters: { cluster: 'edge' },
      multiValueQueryStringParameters: { cluster: ['edge'] },
      body: null,
      isBase64Encoded: false,
      requestContext: {
        resourcePath: '/tasks/{name}',
        stage: 'v1',
        path: '/v1/tasks/add%20nodes',
        identity: { userArn: 'arn:aws:iam::123456789012:user/op' },
      },
    });
    expect(descriptionOf(request.route.functionId)).toMatch(/^HTTP API: submit, list/);
  });

  it('refuse a request no deployed route serves', () => {
    expect(() => apiGatewayRequest(routes, 'PATCH', '/tasks/x')).toThrow(
      'no deployed route serves PATCH /tasks/x',
    );
    expect(() => apiGatewayRequest(routes, 'GET', '/nodes')).toThrow('no deployed route serves GET /nodes');
  });
});
