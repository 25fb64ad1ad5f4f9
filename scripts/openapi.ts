/**
 * Renders the HTTP API's OpenAPI 3.1 document from the zod schemas the code uses: the NodeTask schema
 * (lambdas/domain/node-task-schema.ts), the request and response schemas (lambdas/api/schemas.ts)
 * and the route list (lambdas/api/routes.ts). `npm run openapi` writes docs/api/openapi.json; a unit
 * test fails when the checked-in file differs from a fresh rendering.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { nodeTaskSchema } from '../lambdas/domain/node-task-schema';
import { apiRoutes, pathParameters, routeKey, type RouteSpec } from '../lambdas/api/routes';
import {
  cancelResponseSchema,
  clusterBodySchema,
  clusterBusySchema,
  clusterListSchema,
  credentialBodySchema,
  errorSchema,
  eventListSchema,
  invalidNodeTaskSchema,
  submitResponseSchema,
  taskDetailSchema,
  taskListSchema,
} from '../lambdas/api/schemas';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OPENAPI_PATH = join(ROOT, 'docs/api/openapi.json');

/** Component name → schema. Every schema the paths refer to is listed here. */
const components = {
  NodeTask: nodeTaskSchema,
  PutCredentialRequest: credentialBodySchema,
  PutClusterRequest: clusterBodySchema,
  SubmitResponse: submitResponseSchema,
  TaskList: taskListSchema,
  TaskDetail: taskDetailSchema,
  CancelResponse: cancelResponseSchema,
  EventList: eventListSchema,
  ClusterList: clusterListSchema,
  Error: errorSchema,
  InvalidNodeTask: invalidNodeTaskSchema,
  ClusterBusy: clusterBusySchema,
} satisfies Record<string, z.ZodType>;
type ComponentName = keyof typeof components;

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const rendered = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  // The document declares its dialect once (OpenAPI 3.1 is JSON Schema 2020-12).
  delete rendered.$schema;
  return rendered;
}

const INPUTS: ReadonlySet<ComponentName> = new Set(['NodeTask', 'PutCredentialRequest', 'PutClusterRequest']);

function errorResponse(description: string, schema: Record<string, unknown> = ref('Error')) {
  return { description, content: { 'application/json': { schema } } };
}

interface Operation {
  operationId: string;
  success: { status: string; description: string; schema?: ComponentName };
  errors: Record<string, ReturnType<typeof errorResponse>>;
  requestBody?: Record<string, unknown>;
}

const common = {
  '400': errorResponse('A parameter is invalid, or several clusters are registered and none is named.'),
  '404': errorResponse('The cluster (or the task) is not found.'),
  '500': errorResponse('An unexpected or transient failure; the message never holds a stack trace.'),
};

const operations: Record<string, Operation> = {
  'POST /tasks': {
    operationId: 'submitTask',
    success: { status: '202', description: 'The execution started.', schema: 'SubmitResponse' },
    requestBody: {
      required: true,
      description: 'A NodeTask, as JSON or YAML (the original documents are accepted unchanged).',
      content: {
        'application/json': { schema: ref('NodeTask') },
        'application/yaml': { schema: { type: 'string', description: 'A NodeTask in YAML.' } },
        'text/yaml': { schema: { type: 'string', description: 'A NodeTask in YAML.' } },
      },
    },
    errors: {
      ...common,
      '400': errorResponse(
        'The NodeTask is invalid (every problem listed), or the cluster cannot be chosen.',
        {
          oneOf: [ref('InvalidNodeTask'), ref('Error')],
        },
      ),
      '413': errorResponse(
        "The NodeTask is valid but its execution input would exceed Step Functions' 256 KiB; split it.",
      ),
      '409': errorResponse('The task exists or runs already, or the cluster is busy with another task.', {
        oneOf: [ref('ClusterBusy'), ref('Error')],
      }),
    },
  },
  'GET /tasks': {
    operationId: 'listTasks',
    success: { status: '200', description: 'The tasks of the cluster.', schema: 'TaskList' },
    errors: common,
  },
  'GET /tasks/{name}': {
    operationId: 'getTask',
    success: { status: '200', description: 'The task.', schema: 'TaskDetail' },
    errors: common,
  },
  'DELETE /tasks/{name}': {
    operationId: 'cancelTask',
    success: {
      status: '202',
      description:
        'The execution is stopped; the Jobs, the credential Secret, the lock (when this task held it) and the task object are removed.',
      schema: 'CancelResponse',
    },
    errors: common,
  },
  'POST /tasks/{name}/retry': {
    operationId: 'retryTask',
    success: {
      status: '202',
      description:
        "The task's execution started again: machines whose Node carries the task's label are skipped, the others install under the names they were given.",
      schema: 'SubmitResponse',
    },
    errors: {
      ...common,
      '404': errorResponse('The cluster or the task is not found (no task object: submit it instead).'),
      '409': errorResponse(
        "The task is running, or the cluster is busy with another task, or the task's document is not known any more.",
        { oneOf: [ref('ClusterBusy'), ref('Error')] },
      ),
    },
  },
  'GET /tasks/{name}/events': {
    operationId: 'listTaskEvents',
    success: { status: '200', description: 'Events on the task object, oldest first.', schema: 'EventList' },
    errors: common,
  },
  'PUT /credentials/{name}': {
    operationId: 'putCredential',
    success: { status: '204', description: 'Stored; the value is never returned by any endpoint.' },
    requestBody: { required: true, content: { 'application/json': { schema: ref('PutCredentialRequest') } } },
    errors: {
      '400': common['400'],
      '409': errorResponse('The secret cannot take a value now (scheduled for deletion).'),
      '500': common['500'],
    },
  },
  'GET /clusters': {
    operationId: 'listClusters',
    success: { status: '200', description: 'The registered clusters, by name.', schema: 'ClusterList' },
    errors: { '500': common['500'] },
  },
  'PUT /clusters/{name}': {
    operationId: 'putCluster',
    success: { status: '204', description: 'Registered; the kubeconfig is never returned by any endpoint.' },
    requestBody: { required: true, content: { 'application/json': { schema: ref('PutClusterRequest') } } },
    errors: {
      '400': errorResponse(
        'The name or the kubeconfig is invalid: an https server, an embedded certificate authority, no file references, no credential plugins and TLS verification on are required.',
      ),
      '409': errorResponse(
        'The name is registered already and replace=true was not given, or the secret cannot take a value now (scheduled for deletion).',
      ),
      '500': common['500'],
    },
  },
};

const QUERY_PARAMETERS: Record<string, { schema: Record<string, unknown>; description: string }> = {
  cluster: {
    schema: { type: 'string' },
    description: 'The registered cluster; default spec.cluster, else the only registered cluster.',
  },
  replace: {
    schema: { type: 'string', enum: ['true', 'false'] },
    description: 'true: repoint an already registered name at this kubeconfig (logged). Default false.',
  },
};

function parameters(route: RouteSpec): Array<Record<string, unknown>> {
  const path = pathParameters(route.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: route.path.startsWith('/tasks')
      ? 'The task name (metadata.name).'
      : `The ${route.group.slice(0, -1)} name.`,
  }));
  const query = route.query.map((name) => ({
    name,
    in: 'query',
    required: false,
    ...QUERY_PARAMETERS[name],
  }));
  return [...path, ...query];
}

function operation(route: RouteSpec): Record<string, unknown> {
  const op = operations[routeKey(route)];
  if (!op) throw new Error(`openapi: no operation described for ${routeKey(route)}`);
  const success = op.success.schema
    ? {
        description: op.success.description,
        content: { 'application/json': { schema: ref(op.success.schema) } },
      }
    : { description: op.success.description };
  const params = parameters(route);
  return {
    operationId: op.operationId,
    summary: route.summary,
    tags: [route.group],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.requestBody ? { requestBody: op.requestBody } : {}),
    responses: { [op.success.status]: success, ...op.errors },
  };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  const schemas = Object.fromEntries(
    (Object.keys(components) as ComponentName[]).map((name) => [
      name,
      jsonSchema(components[name], INPUTS.has(name) ? 'input' : 'output'),
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Penetrator API',
      version: packageVersion(),
      description:
        'Submit NodeTasks, watch and cancel them, and register clusters and SSH credentials. Every request is signed with AWS SigV4 (service execute-api). No endpoint returns a password, key, kubeconfig or token.',
    },
    servers: [
      {
        url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/v1',
        description: 'The stack output ApiUrl',
        variables: { restApiId: { default: 'abcdef1234' }, region: { default: 'us-east-1' } },
      },
    ],
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (API Gateway AWS_IAM authorisation).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas,
    },
  };
}

/** The document as checked in: formatted with the project's prettier settings, so `npm run format` keeps it. */
export async function renderOpenApiDocument(): Promise<string> {
  const options = (await resolveConfig(OPENAPI_PATH)) ?? {};
  return format(JSON.stringify(buildOpenApiDocument()), { ...options, filepath: OPENAPI_PATH });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_PATH, await renderOpenApiDocument());
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
}
