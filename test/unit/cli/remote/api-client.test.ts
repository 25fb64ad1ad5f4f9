import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../../cli/remote/api-client';
import { ApiError } from '../../../../cli/remote/api-errors';
import { CliError } from '../../../../cli/output';
import { ContractServer, TEST_CREDENTIALS } from './contract-server';
import { parseAuthorization } from './sigv4-verifier';

const server = new ContractServer();
let endpoint: string;

beforeAll(async () => {
  endpoint = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

function client(overrides: { timeoutMs?: number; credentials?: typeof TEST_CREDENTIALS } = {}): ApiClient {
  return new ApiClient({
    endpoint: new URL(endpoint),
    region: 'eu-west-1',
    credentials: overrides.credentials ?? TEST_CREDENTIALS,
    timeoutMs: overrides.timeoutMs ?? 5_000,
    retryDelayMs: 10,
  });
}

const YAML = 'apiVersion: nodetask.apps.superedge.io/v1beta1\nkind: NodeTask\nmetadata:\n  name: nodes\n';

describe('the API client', () => {
  it('submits the document as written, with its type, the cluster as query, signed for execute-api', async () => {
    const accepted = {
      name: 'nodes',
      cluster: 'prod',
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:prod--nodes--a1b2c3',
      statusUrl: '/tasks/nodes?cluster=prod',
    };
    server.script('POST /prod/tasks', { status: 202, body: accepted });
    await expect(client().submitTask(YAML, 'application/yaml', 'prod')).resolves.toEqual(accepted);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({
      method: 'POST',
      path: '/prod/tasks',
      query: { cluster: 'prod' },
      body: YAML,
    });
    expect(request!.headers['content-type']).toBe('application/yaml');
    expect(request!.signatureValid).toBe(true);
    const auth = parseAuthorization(request!.headers.authorization as string);
    expect(auth).toMatchObject({
      accessKeyId: TEST_CREDENTIALS.accessKeyId,
      region: 'eu-west-1',
      service: 'execute-api',
    });
    expect(auth!.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'content-type']));
  });

  it('sends each verb to its path and method, with no query when no cluster is named', async () => {
    server.route('GET /prod/tasks', () => ({ status: 200, body: { items: [] } }));
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: { metadata: { name: 'nodes' } } }));
    server.route('DELETE /prod/tasks/nodes', () => ({
      status: 202,
      body: { name: 'nodes', cancelled: true },
    }));
    server.route('GET /prod/tasks/nodes/events', () => ({ status: 200, body: { items: [] } }));
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    server.route('PUT /prod/clusters/prod', () => ({ status: 204 }));
    server.route('GET /prod/clusters', () => ({ status: 200, body: { items: [{ name: 'prod' }] } }));
    const api = client();
    await api.listTasks();
    await api.getTask('nodes', 'edge-1');
    await api.cancelTask('nodes');
    await api.taskEvents('nodes');
    await api.putCredential('login-secret', { passwd: 'not-a-real-password' });
    await api.putCluster('prod', 'apiVersion: v1\n');
    await expect(api.listClusters()).resolves.toEqual({ items: [{ name: 'prod' }] });

    expect(server.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/prod/tasks', {}],
      ['GET', '/prod/tasks/nodes', { cluster: 'edge-1' }],
      ['DELETE', '/prod/tasks/nodes', {}],
      ['GET', '/prod/tasks/nodes/events', {}],
      ['PUT', '/prod/credentials/login-secret', {}],
      ['PUT', '/prod/clusters/prod', {}],
      ['GET', '/prod/clusters', {}],
    ]);
    expect(server.requests.every((r) => r.signatureValid)).toBe(true);
    expect(JSON.parse(server.requests[4]!.body)).toEqual({ passwd: 'not-a-real-password' });
    expect(JSON.parse(server.requests[5]!.body)).toEqual({ kubeconfig: 'apiVersion: v1\n' });
  });

  it('signs with the session token of temporary credentials', async () => {
    server.route('GET /prod/clusters', () => ({ status: 200, body: { items: [] } }));
    await client({
      credentials: { ...TEST_CREDENTIALS, sessionToken: 'session-token-example' },
    }).listClusters();
    const [request] = server.requests;
    expect(request!.headers['x-amz-security-token']).toBe('session-token-example');
    expect(request!.signatureValid).toBe(true);
  });

  it('a signature made with other credentials does not verify (the check is real)', async () => {
    server.route('GET /prod/clusters', () => ({ status: 200, body: { items: [] } }));
    await client({ credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'another-secret' } }).listClusters();
    expect(server.requests[0]!.signatureValid).toBe(false);
  });

  it('retries a throttled or failed GET once, then succeeds', async () => {
    server.script('GET /prod/tasks', { status: 503, body: { message: 'Service Unavailable' } });
    server.route('GET /prod/tasks', () => ({ status: 200, body: { items: [] } }));
    await expect(client().listTasks()).resolves.toEqual({ items: [] });
    expect(server.requests).toHaveLength(2);
    expect(server.requests.every((r) => r.signatureValid)).toBe(true);
  });

  it('gives up after one retry', async () => {
    server.route('GET /prod/tasks', () => ({ status: 502, body: { message: 'Bad Gateway' } }));
    const error = await client()
      .listTasks()
      .catch((e: unknown) => e);
    expect(server.requests).toHaveLength(2);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(
      'the Penetrator API failed on GET /tasks (HTTP 502): Bad Gateway',
    );
  });

  it('never repeats a POST that may have started an execution, but repeats a throttled one', async () => {
    server.route('POST /prod/tasks', () => ({ status: 500, body: { message: 'internal error' } }));
    await expect(client().submitTask(YAML, 'application/yaml')).rejects.toThrow(/HTTP 500/);
    expect(server.requests).toHaveLength(1);

    server.reset();
    server.script('POST /prod/tasks', { status: 429, body: { message: 'Too Many Requests' } });
    server.route('POST /prod/tasks', () => ({
      status: 202,
      body: { name: 'nodes', cluster: 'prod', executionArn: 'arn', statusUrl: '/tasks/nodes?cluster=prod' },
    }));
    await expect(client().submitTask(YAML, 'application/yaml')).resolves.toMatchObject({ name: 'nodes' });
    expect(server.requests).toHaveLength(2);
  });

  it('says 403 in terms of credentials and execute-api:Invoke', async () => {
    server.route('GET /prod/tasks', () => ({
      status: 403,
      body: { Message: 'User is not authorized to access this resource' },
    }));
    const error = (await client()
      .listTasks()
      .catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe(
      'not authorised: check your AWS credentials/role allows execute-api:Invoke (User is not authorized to access this resource)',
    );
    expect(error.hint).toMatch(/aws sts get-caller-identity/);
  });

  it("reads API Gateway's 403 for an unknown path as a wrong endpoint", async () => {
    server.route('GET /prod/clusters', () => ({
      status: 403,
      body: { message: 'Missing Authentication Token' },
    }));
    const error = (await client()
      .listClusters()
      .catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe('the API has no route for GET /clusters');
    expect(error.hint).toMatch(/ApiUrl/);
  });

  it("shows a 409 as the server's message, with a hint naming the running task", async () => {
    server.route('POST /prod/tasks', () => ({
      status: 409,
      body: { message: 'cluster prod is busy: task older is running', runningTask: 'older' },
    }));
    const error = (await client()
      .submitTask(YAML, 'application/yaml')
      .catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(409);
    expect(error.message).toBe('cluster prod is busy: task older is running');
    expect(error.hint).toBe(
      'wait for it (penetrator describe nodetask older) or cancel it (penetrator delete nodetask older)',
    );
  });

  it('shows each problem of a 400 on its own line', async () => {
    server.route('POST /prod/tasks', () => ({
      status: 400,
      body: {
        message: 'invalid NodeTask',
        problems: ['spec.targetMachines[1]: "300.1.1.1" is not an IP address', 'spec.proxyNode: is required'],
      },
    }));
    const error = (await client()
      .submitTask(YAML, 'application/yaml')
      .catch((e: unknown) => e)) as ApiError;
    expect(error.message.split('\n')).toEqual([
      'invalid NodeTask',
      '  spec.targetMachines[1]: "300.1.1.1" is not an IP address',
      '  spec.proxyNode: is required',
    ]);
  });

  it('ends a call the server never answers at its deadline, and tries once more', async () => {
    server.route('GET /prod/tasks', () => ({ status: 200, hang: true }));
    const started = Date.now();
    const error = (await client({ timeoutMs: 300 })
      .listTasks()
      .catch((e: unknown) => e)) as CliError;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(server.requests).toHaveLength(2);
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toMatch(
      /^cannot reach the Penetrator API at http:\/\/127\.0\.0\.1:\d+: no answer within 0\.3 s$/,
    );
  });

  it('says so when nothing listens at the endpoint', async () => {
    const closed = new ContractServer();
    const url = await closed.start();
    await closed.stop();
    const api = new ApiClient({
      endpoint: new URL(url),
      region: 'eu-west-1',
      credentials: TEST_CREDENTIALS,
      retryDelayMs: 10,
    });
    await expect(api.listTasks()).rejects.toThrow(/cannot reach the Penetrator API at .*ECONNREFUSED/);
  });

  it('turns a credential chain failure into a hint about AWS credentials', async () => {
    const api = new ApiClient({
      endpoint: new URL(endpoint),
      region: 'eu-west-1',
      credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
    });
    const error = (await api.listTasks().catch((e: unknown) => e)) as CliError;
    expect(error.message).toBe('no usable AWS credentials: Could not load credentials from any providers');
    expect(error.hint).toMatch(/AWS_PROFILE/);
    expect(server.requests).toHaveLength(0);
  });
});
