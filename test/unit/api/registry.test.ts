/**
 * PUT /credentials, PUT /clusters and GET /clusters through the Lambda handlers as API Gateway calls
 * them, with Secrets Manager mocked at the SDK boundary. Values go in; no response and no log line
 * ever carries one back.
 */
import {
  CreateSecretCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as clusters } from '../../../lambdas/handlers/api-clusters';
import { handler as credentials } from '../../../lambdas/handlers/api-credentials';
import { apiEvent } from './api-event';

// Powertools then writes through the global console, where the test reads its lines.
vi.hoisted(() => {
  process.env.POWERTOOLS_DEV = 'true';
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
});

const sm = mockClient(SecretsManagerClient);
const PASSWORD = 'root-pw-never-shown';
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey-never-shown\n-----END OPENSSH PRIVATE KEY-----\n';
const TOKEN = 'kube-token-never-shown';
const SECRETS = [PASSWORD, 'key-never-shown', TOKEN];
const CA = Buffer.from(readFileSync('test/fixtures/certs/kubernetes-ca.crt', 'utf8')).toString('base64');

let output: string[];

function kubeconfig(overrides: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'prod', cluster: { server: 'https://198.19.0.1:6443', 'certificate-authority-data': CA } },
    ],
    users: [{ name: 'admin', user: { token: TOKEN } }],
    contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'admin' } }],
    'current-context': 'prod',
    ...overrides,
  });
}

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({
    message: "Secrets Manager can't find the specified secret.",
    $metadata: {},
  });
}

function putCredential(body: unknown, name = 'login-secret') {
  return credentials(
    apiEvent('PUT', '/credentials/{name}', {
      path: { name },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      contentType: 'application/json',
    }),
  );
}

function expectNoSecretIn(...texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

beforeEach(() => {
  sm.reset();
  output = [];
  for (const level of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      output.push(args.map(String).join(' '));
    });
  }
});

afterEach(() => {
  // Every case: nothing secret in what was logged.
  expectNoSecretIn(...output);
  vi.restoreAllMocks();
});

describe('PUT /credentials/{name}', () => {
  it('stores a password as a new version of <prefix>credentials/<name> and answers 204', async () => {
    sm.on(PutSecretValueCommand).resolves({});

    const response = await putCredential({ passwd: PASSWORD });

    expect(response).toMatchObject({ statusCode: 204, body: '' });
    expect(sm).toHaveReceivedCommandExactlyOnceWith(PutSecretValueCommand, {
      SecretId: 'penetrator/credentials/login-secret',
      SecretString: JSON.stringify({ passwd: PASSWORD }),
    });
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(output.join('\n')).toContain('credential stored');
  });

  it('stores known hosts with a password too', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    const body = { passwd: PASSWORD, knownHosts: '198.18.0.10 ssh-ed25519 AAAAhost' };

    const response = await putCredential(body);

    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandExactlyOnceWith(PutSecretValueCommand, {
      SecretId: 'penetrator/credentials/login-secret',
      SecretString: JSON.stringify(body),
    });
  });

  it('creates the secret when it does not exist yet, with the key and known hosts', async () => {
    sm.on(PutSecretValueCommand).rejects(notFound());
    sm.on(CreateSecretCommand).resolves({});
    const body = { sshkey: KEY, knownHosts: '198.18.0.10 ssh-ed25519 AAAAhost' };

    const response = await putCredential(body);

    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandExactlyOnceWith(CreateSecretCommand, {
      Name: 'penetrator/credentials/login-secret',
      SecretString: JSON.stringify(body),
      Description: 'Penetrator: SSH credential login-secret',
    });
  });

  it.each([
    ['both passwd and sshkey', { passwd: PASSWORD, sshkey: KEY }, /exactly one of passwd or sshkey/],
    ['neither', { knownHosts: 'x' }, /exactly one of passwd or sshkey/],
    ['an unknown field', { passwd: PASSWORD, password: PASSWORD }, /unknown field "password"/],
    ['an empty password', { passwd: '' }, /passwd: is empty/],
    ['a number', { passwd: 1234 }, /passwd: expected a string/],
    ['a password too long', { passwd: `${PASSWORD}${'x'.repeat(2000)}` }, /passwd: is longer than 1024/],
  ])('refuses %s with a 400 that repeats no value', async (_what, body, message) => {
    const response = await putCredential(body);

    expect(response.statusCode).toBe(400);
    const answer = JSON.parse(response.body) as { message: string; hint: string };
    expect(answer.message).toMatch(message);
    expect(answer.hint).toContain('passwd');
    expectNoSecretIn(response.body);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('refuses a body that is not JSON without quoting it', async () => {
    const response = await putCredential(`{"passwd": "${PASSWORD}"`);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ message: 'the request body is not JSON' });
    expectNoSecretIn(response.body);
  });

  it('refuses a name spec.sshCredential could not use', async () => {
    const response = await putCredential({ passwd: PASSWORD }, 'Login_Secret');
    expect(response.statusCode).toBe(400);
    expect((JSON.parse(response.body) as { message: string }).message).toContain('is not a credential name');
  });

  it('answers 500 with the request id only when Secrets Manager refuses the caller', async () => {
    sm.on(PutSecretValueCommand).rejects(
      Object.assign(new Error(`User is not authorized ${PASSWORD}`), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const response = await putCredential({ passwd: PASSWORD });
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      message: 'internal error',
      hint: "the API's logs hold the details under request id req-1",
    });
  });
});

describe('PUT /clusters/{name}', () => {
  function putCluster(body: unknown, query?: Record<string, string>) {
    return clusters(
      apiEvent('PUT', '/clusters/{name}', {
        path: { name: 'prod' },
        body: JSON.stringify(body),
        contentType: 'application/json',
        ...(query ? { query } : {}),
      }),
    );
  }

  it('creates <prefix>clusters/<name> from a kubeconfig that pins an https apiserver', async () => {
    sm.on(CreateSecretCommand).resolves({});
    const text = kubeconfig();

    const response = await putCluster({ kubeconfig: text });

    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandExactlyOnceWith(CreateSecretCommand, {
      Name: 'penetrator/clusters/prod',
      SecretString: text,
    });
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('answers 409 for a name already registered and writes nothing over it', async () => {
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));

    const response = await putCluster({ kubeconfig: kubeconfig() });

    expect(response.statusCode).toBe(409);
    expect(JSON.parse(response.body)).toMatchObject({
      message: expect.stringMatching(/cluster prod is already registered/) as unknown,
      hint: expect.stringMatching(/replace=true/) as unknown,
    });
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  it('replaces a registered cluster only with replace=true, and logs the replacement with the caller', async () => {
    sm.on(PutSecretValueCommand).resolves({});
    const text = kubeconfig();

    const response = await putCluster({ kubeconfig: text }, { replace: 'true' });

    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandExactlyOnceWith(PutSecretValueCommand, {
      SecretId: 'penetrator/clusters/prod',
      SecretString: text,
    });
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
    const line = output.find((l) => l.includes('cluster replaced'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      level: 'WARN',
      caller: 'arn:aws:iam::123456789012:user/operator',
      cluster: 'prod',
      outcome: 'replaced',
    });
  });

  it('refuses a replace parameter that is not true or false', async () => {
    const response = await putCluster({ kubeconfig: kubeconfig() }, { replace: 'yes' });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({
      message: 'query parameter replace must be true or false',
    });
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it.each([
    ['not YAML', '{{{ nope', /not YAML or JSON/],
    ['without a current context', kubeconfig({ 'current-context': undefined }), /current-context: missing/],
    [
      'without a server',
      kubeconfig({ clusters: [{ name: 'prod', cluster: { 'certificate-authority-data': CA } }] }),
      /clusters\[0\]\.cluster\.server: missing/,
    ],
    [
      'with a plain http server',
      kubeconfig({ clusters: [{ name: 'prod', cluster: { server: 'http://198.19.0.1:8080' } }] }),
      /server: must be an https URL/,
    ],
    [
      'with TLS verification off',
      kubeconfig({
        clusters: [
          { name: 'prod', cluster: { server: 'https://198.19.0.1:6443', 'insecure-skip-tls-verify': true } },
        ],
      }),
      /insecure-skip-tls-verify: TLS verification cannot be switched off/,
    ],
    [
      'with a token file',
      kubeconfig({ users: [{ name: 'admin', user: { tokenFile: '/var/run/token' } }] }),
      /users\[0\]\.user\.tokenFile: refers to a file/,
    ],
    [
      'with an exec plugin',
      kubeconfig({ users: [{ name: 'admin', user: { exec: { command: 'aws', args: [TOKEN] } } }] }),
      /credential plugin/,
    ],
  ])('refuses a kubeconfig %s with a 400 that quotes nothing of it', async (_what, text, message) => {
    const response = await putCluster({ kubeconfig: text });

    expect(response.statusCode).toBe(400);
    expect((JSON.parse(response.body) as { message: string }).message).toMatch(message);
    expectNoSecretIn(response.body);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
  });

  it('refuses a body with other fields', async () => {
    const response = await putCluster({ kubeconfig: kubeconfig(), token: TOKEN });
    expect(response.statusCode).toBe(400);
    expectNoSecretIn(response.body);
  });
});

describe('GET /clusters', () => {
  it('lists the registered clusters by name only', async () => {
    sm.on(ListSecretsCommand).resolves({
      SecretList: [{ Name: 'penetrator/clusters/prod' }, { Name: 'penetrator/clusters/edge-eu' }],
    });

    const response = await clusters(apiEvent('GET', '/clusters'));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ items: [{ name: 'edge-eu' }, { name: 'prod' }] });
    expect(response.headers).toMatchObject({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
    });
  });
});
