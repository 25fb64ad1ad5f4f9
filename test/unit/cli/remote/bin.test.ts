import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContractServer, TEST_CREDENTIALS } from './contract-server';

// The real `penetrator` process against the contract server: flags, environment, the credential
// chain (static keys in the environment, the instance metadata lookup disabled) and exit codes.

const ROOT = resolve(import.meta.dirname, '../../../..');
const BIN = resolve(ROOT, 'cli/bin/penetrator.js');
const SPAWN_TIMEOUT_MS = 30_000;

const server = new ContractServer();
let endpoint: string;
beforeAll(async () => {
  endpoint = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => server.reset());

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function penetrator(args: string[], input = '', overrides: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_REGION: 'eu-west-1',
    PENETRATOR_ENDPOINT: endpoint,
    ...overrides,
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`penetrator ${args.join(' ')} did not end within ${SPAWN_TIMEOUT_MS} ms`));
    }, SPAWN_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('penetrator remote verbs (process)', { timeout: 120_000 }, () => {
  it('get nodetasks signs with the environment credentials and prints a table', async () => {
    server.route('GET /prod/tasks', () => ({
      status: 200,
      body: {
        items: [
          { name: 'nodes', cluster: 'prod', nodetaskStatus: 'ready', total: 2, installed: 2, failed: 0 },
        ],
      },
    }));
    const run = await penetrator(['get', 'nodetasks', '--cluster', 'prod']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[1]).toMatch(/^nodes +prod +ready +2 +2 +0 +<none>$/);
    expect(server.requests[0]!.signatureValid).toBe(true);
    expect(server.requests[0]!.query).toEqual({ cluster: 'prod' });
  });

  it('credential put --password-stdin reads the password from a pipe', async () => {
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const run = await penetrator(
      ['credential', 'put', 'login-secret', '--password-stdin', '--clusters', 'prod'],
      'correct horse\n',
    );
    expect(run.status).toBe(0);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ passwd: 'correct horse', clusters: ['prod'] });
    expect(run.stdout + run.stderr).not.toContain('correct horse');
  });

  it('errors are one line and a hint, with exit code 1, never a stack', async () => {
    server.route('POST /prod/tasks', () => ({
      status: 409,
      body: { message: 'cluster prod is busy: task older is running', runningTask: 'older' },
    }));
    const run = await penetrator(['apply', '-f', 'examples/add-nodes.yaml', '--cluster', 'prod']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'error: cluster prod is busy: task older is running\n' +
        'hint: wait for it (penetrator describe nodetask older) or cancel it (penetrator delete nodetask older)\n',
    );
  });

  it('refuses a password on the command line and an unknown resource as usage errors', async () => {
    const password = await penetrator(['credential', 'put', 'x', '--password', 'hunter2']);
    expect(password.status).toBe(2);
    expect(password.stderr).toMatch(/^error: a password on the command line is refused/);
    const resource = await penetrator(['get', 'pods']);
    expect(resource.status).toBe(2);
    expect(resource.stderr).toMatch(
      /^error: unknown resource type "pods"\nhint: the only resource is nodetask/,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('reports a wrong document before asking where the API is', async () => {
    const run = await penetrator(['apply', '-f', 'package.json'], '', { PENETRATOR_ENDPOINT: '' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^error: invalid NodeTask\n {2}/);
    const none = await penetrator(['apply', '-f', 'examples/add-nodes.yaml'], '', {
      PENETRATOR_ENDPOINT: '',
    });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /^error: no Penetrator API endpoint given\nhint: set --endpoint or PENETRATOR_ENDPOINT/,
    );
  });
});
