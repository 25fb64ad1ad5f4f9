/**
 * The API's routes as data: the router dispatches on them, the CDK construct builds the RestApi's
 * resources and methods from them, and scripts/openapi.ts documents them. Pure (no SDK), so infra/
 * can import it.
 */
export type RouteGroupName = 'tasks' | 'credentials' | 'clusters';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  group: RouteGroupName;
  method: HttpMethod;
  /** API Gateway resource path, with `{name}` path parameters. */
  path: string;
  /** Optional query parameters. */
  query: readonly string[];
  /** JSON request body validated by API Gateway against a model (secret-bearing bodies). */
  bodyModel?: 'credential' | 'cluster';
  summary: string;
}

export const apiRoutes: readonly RouteSpec[] = [
  { group: 'tasks', method: 'POST', path: '/tasks', query: ['cluster'], summary: 'Submit a NodeTask' },
  {
    group: 'tasks',
    method: 'GET',
    path: '/tasks',
    query: ['cluster'],
    summary: 'List the tasks of a cluster',
  },
  {
    group: 'tasks',
    method: 'GET',
    path: '/tasks/{name}',
    query: ['cluster'],
    summary: "A task in the original NodeTask's shape, with per-node detail",
  },
  {
    group: 'tasks',
    method: 'DELETE',
    path: '/tasks/{name}',
    query: ['cluster'],
    summary: 'Cancel a task and remove what it created in the cluster',
  },
  {
    group: 'tasks',
    method: 'POST',
    path: '/tasks/{name}/retry',
    query: ['cluster'],
    summary: 'Run a task again for its machines not yet installed, under the same names and label',
  },
  {
    group: 'tasks',
    method: 'GET',
    path: '/tasks/{name}/events',
    query: ['cluster'],
    summary: "The task's Kubernetes Events",
  },
  {
    group: 'credentials',
    method: 'PUT',
    path: '/credentials/{name}',
    query: [],
    bodyModel: 'credential',
    summary: 'Store an SSH credential (write-only)',
  },
  { group: 'clusters', method: 'GET', path: '/clusters', query: [], summary: 'List the registered clusters' },
  {
    group: 'clusters',
    method: 'PUT',
    path: '/clusters/{name}',
    query: ['replace'],
    bodyModel: 'cluster',
    summary: "Register a cluster's kubeconfig (write-only)",
  },
];

export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** The path parameters of a route: `/tasks/{name}/events` → [`name`]. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
}
