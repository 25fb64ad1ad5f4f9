/**
 * The API's routes: method and API Gateway resource → use-case. Each route reads its parameters from
 * the request, calls one use-case and shapes the answer; errors become responses in http.ts.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { RequestInvalidError } from '../errors';
import { json, mediaType, noContent, type ApiRequest } from './http';
import type { ApiDependencies } from '../ports';
import { cancelTask } from '../use-cases/cancel-task';
import { listClusters, putCluster, putCredential } from '../use-cases/registry';
import { retryTask } from '../use-cases/retry-task';
import { submitTask } from '../use-cases/submit-task';
import { getTask, listTasks, taskEvents } from '../use-cases/task-status';

type Route = (deps: ApiDependencies, request: ApiRequest) => Promise<APIGatewayProxyResult>;

function param(request: ApiRequest, name: string): string {
  const value = request.pathParameters[name];
  if (value === undefined || value === '') throw new RequestInvalidError(`the path has no ${name}`);
  return value;
}

/** A boolean query parameter: absent is false; anything but `true`/`false` is refused. */
function flag(request: ApiRequest, name: string): boolean {
  const value = request.query[name];
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new RequestInvalidError(`query parameter ${name} must be true or false`);
}

/** Route groups, one Lambda each, so each gets only the permissions its routes need. */
export const routeGroups = {
  tasks: {
    'POST /tasks': async (deps, request) => {
      const body: { body: string; mediaType?: string; cluster?: string } = { body: request.body };
      const type = mediaType(request);
      if (type !== undefined) body.mediaType = type;
      if (request.query.cluster !== undefined) body.cluster = request.query.cluster;
      return json(202, await submitTask(deps, body));
    },
    'GET /tasks': async (deps, request) => json(200, await listTasks(deps, request.query.cluster)),
    'GET /tasks/{name}': async (deps, request) =>
      json(200, await getTask(deps, param(request, 'name'), request.query.cluster)),
    'DELETE /tasks/{name}': async (deps, request) =>
      json(202, await cancelTask(deps, param(request, 'name'), request.query.cluster)),
    'POST /tasks/{name}/retry': async (deps, request) =>
      json(202, await retryTask(deps, { name: param(request, 'name'), cluster: request.query.cluster })),
    'GET /tasks/{name}/events': async (deps, request) =>
      json(200, await taskEvents(deps, param(request, 'name'), request.query.cluster)),
  },
  credentials: {
    'PUT /credentials/{name}': async (deps, request) => {
      await putCredential(deps, param(request, 'name'), request.body);
      return noContent();
    },
  },
  clusters: {
    'GET /clusters': async (deps) => json(200, await listClusters(deps)),
    'PUT /clusters/{name}': async (deps, request) => {
      await putCluster(deps, param(request, 'name'), {
        body: request.body,
        replace: flag(request, 'replace'),
      });
      return noContent();
    },
  },
} satisfies Record<string, Record<string, Route>>;

export type RouteGroup = keyof typeof routeGroups;

/** `METHOD /resource` of every route the router serves, per group (routes.ts must list the same). */
export function routeKeys(group: RouteGroup): string[] {
  return Object.keys(routeGroups[group]);
}

export function findRoute(groups: readonly RouteGroup[], request: ApiRequest): Route | undefined {
  const key = `${request.method} ${request.resource}`;
  for (const group of groups) {
    const routes: Record<string, Route> = routeGroups[group];
    if (Object.hasOwn(routes, key)) return routes[key];
  }
  return undefined;
}
