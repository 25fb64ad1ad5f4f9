/**
 * POST /tasks refuses an invalid NodeTask with exactly the problem lines `penetrator validate`
 * prints — one parser, one source of truth — and before any AWS call.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambdas/handlers/api-tasks';
import { apiEvent } from './api-event';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.PENETRATOR_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
});

const ROOT = resolve(import.meta.dirname, '../../..');
const INVALID = join(ROOT, 'test/fixtures/nodetasks/invalid');
const SPAWN_TIMEOUT_MS = 30_000;
const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);

const task = (spec: Record<string, unknown>, name = 'nodes') =>
  JSON.stringify({
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec,
  });

/** The fixtures plus documents that exercise the parser's own refusals, as JSON and as YAML. */
const documents: Array<[string, string, string]> = [
  ...readdirSync(INVALID)
    .sort()
    .map((file): [string, string, string] => [
      file,
      readFileSync(join(INVALID, file), 'utf8'),
      'application/yaml',
    ]),
  ['an empty body', '', 'application/json'],
  ['a list', '[1, 2]', 'application/json'],
  ['broken JSON', '{"apiVersion": ', 'application/json'],
  [
    'a bad address and port, as JSON',
    task({
      nodeNamePrefix: 'edge',
      targetMachines: ['172.21.3.1', '1.2.3'],
      sshCredential: 'login',
      proxyNode: 'p',
      sshPort: 0,
    }),
    'application/json',
  ],
  [
    'a name too long',
    task(
      { nodeNamesOverride: { 'edge-a': '172.21.3.1' }, sshCredential: 'login', proxyNode: 'p' },
      'n'.repeat(60),
    ),
    'application/json',
  ],
  [
    'a YAML task missing its spec',
    'apiVersion: nodetask.apps.superedge.io/v1beta1\nkind: NodeTask\nmetadata:\n  name: nodes\n',
    'text/yaml',
  ],
];

function validateWithCli(text: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'cli/bin/penetrator.js'), 'validate', '-f', '-'], {
      cwd: ROOT,
      env: { ...process.env, PENETRATOR_DEBUG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`penetrator validate did not end within ${SPAWN_TIMEOUT_MS} ms`));
    }, SPAWN_TIMEOUT_MS);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stderr });
    });
    child.stdin.end(text);
  });
}

beforeEach(() => {
  sm.reset();
  sfn.reset();
});

describe('POST /tasks with an invalid NodeTask', () => {
  it.each(documents)(
    'answers 400 with the lines penetrator validate prints: %s',
    async (_what, text, contentType) => {
      const [response, cli] = await Promise.all([
        handler(apiEvent('POST', '/tasks', { body: text, contentType })),
        validateWithCli(text),
      ]);

      expect(cli.status).toBe(1);
      const cliLines = cli.stderr.split('\n').filter((line) => line !== '');
      expect(cliLines.length).toBeGreaterThan(0);
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body)).toEqual({ message: 'invalid NodeTask', problems: cliLines });
      // Refused before choosing a cluster or starting anything.
      expect(sm.calls()).toHaveLength(0);
      expect(sfn.calls()).toHaveLength(0);
    },
    SPAWN_TIMEOUT_MS * 2,
  );

  it('reads a base64-encoded body as API Gateway passes binary media', async () => {
    const text = task({
      targetMachines: ['300.1.1.1'],
      nodeNamePrefix: 'edge',
      sshCredential: 'login',
      proxyNode: 'p',
    });
    const response = await handler(
      apiEvent('POST', '/tasks', { body: text, contentType: 'application/json', base64: true }),
    );
    expect(JSON.parse(response.body)).toEqual({
      message: 'invalid NodeTask',
      problems: ['spec.targetMachines[0]: "300.1.1.1" is not an IPv4 or IPv6 address'],
    });
  });

  it('refuses a media type that is neither JSON nor YAML', async () => {
    const response = await handler(apiEvent('POST', '/tasks', { body: 'x', contentType: 'application/xml' }));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      message: 'Content-Type application/xml is not accepted',
    });
  });

  it('answers 413 for a valid task whose execution input exceeds the Step Functions limit, before starting anything', async () => {
    const ca = readFileSync(join(ROOT, 'test/fixtures/certs/kubernetes-ca.crt')).toString('base64');
    const kubeconfig = JSON.stringify({
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority-data': ca } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    });
    sm.on(GetSecretValueCommand).resolves({ SecretString: kubeconfig });
    // 1000 proxy nodes of long names and 60 KB of known hosts: each field within its own limit.
    const proxyNodes = Array.from(
      { length: 1000 },
      (_, i) =>
        `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${String(i).padStart(4, '0')}-${'s'.repeat(55)}`,
    );
    const text = task({
      nodeNamesOverride: { 'edge-a': '172.21.3.1' },
      sshCredential: 'login',
      proxyNodes,
      knownHosts: `172.21.3.1 ssh-ed25519 ${'A'.repeat(60_000)}\n`,
    });

    const response = await handler(
      apiEvent('POST', '/tasks', { body: text, contentType: 'application/json', query: { cluster: 'prod' } }),
    );

    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({
      message: expect.stringMatching(
        /^the NodeTask makes an execution input of \d+ bytes; Step Functions accepts at most 262144$/,
      ) as unknown,
      hint: expect.stringContaining('split') as unknown,
    });
    expect(sfn.calls()).toHaveLength(0);
  });
});
