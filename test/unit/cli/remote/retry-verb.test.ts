import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { retryLocally, retryNodeTask } from '../../../../cli/commands/retry';
import { ApiClient } from '../../../../cli/remote/api-client';
import type { RemoteIo } from '../../../../cli/remote/connect';
import { ContractServer, TEST_CREDENTIALS } from './contract-server';

const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:prod--nodes--z9y8x7';
const started = { name: 'nodes', cluster: 'prod', executionArn: ARN, statusUrl: '/tasks/nodes?cluster=prod' };

const server = new ContractServer();
let api: ApiClient;

beforeAll(async () => {
  api = new ApiClient({
    endpoint: new URL(await server.start()),
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
    retryDelayMs: 10,
  });
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

function capture(): RemoteIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    now: () => new Date('2026-11-30T12:00:00Z'),
  };
  return io;
}

describe('retry nodetask', () => {
  it('posts to the task retry route of the named cluster, signed, and prints what started', async () => {
    server.script('POST /prod/tasks/nodes/retry', { status: 202, body: started });
    const io = capture();
    await expect(retryNodeTask(api, 'nodes', { cluster: 'prod' }, io)).resolves.toBe(0);
    const [request] = server.requests;
    expect(`${request!.method} ${request!.path}`).toBe('POST /prod/tasks/nodes/retry');
    expect(request!.query).toEqual({ cluster: 'prod' });
    expect(request!.signatureValid).toBe(true);
    expect(io.out).toBe(`nodetask/nodes retried in cluster prod (execution ${ARN})\n`);
  });

  it('prints the answer with -o json', async () => {
    server.script('POST /prod/tasks/nodes/retry', { status: 202, body: started });
    const io = capture();
    await retryNodeTask(api, 'nodes', { output: 'json' }, io);
    expect(JSON.parse(io.out)).toEqual(started);
  });

  it('passes a refusal on with its message: a running task is not retried', async () => {
    server.route('POST /prod/tasks/nodes/retry', () => ({
      status: 409,
      body: { message: 'task nodes is running in cluster prod; only an ended task can be retried' },
    }));
    await expect(retryNodeTask(api, 'nodes', {}, capture())).rejects.toThrow(
      'task nodes is running in cluster prod; only an ended task can be retried',
    );
  });

  it('refuses a local retry without a credential before reading anything', async () => {
    await expect(retryLocally('nodes', { kubeconfig: '/nonexistent/kubeconfig' })).rejects.toThrow(
      'a local retry needs --kubeconfig and --credential',
    );
  });
});
