/**
 * The Lambda handlers as Step Functions calls them: what they throw must carry the Step Functions
 * error name that Retry/Catch match, and nothing secret may reach their log lines.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as checkInstall } from '../../../lambdas/handlers/check-install';
import { handler as lock } from '../../../lambdas/handlers/lock';
import { resetAwsDependencies } from '../../../lambdas/aws-composition';
import { handler as plan } from '../../../lambdas/handlers/plan';
import { handler as startInstall } from '../../../lambdas/handlers/start-install';
import { ErrorNames, PenetratorError } from '../../../lambdas/errors';

/** The tags of a credential bound to cluster prod (lambdas/domain/credential-bounds.ts). */
const BOUND_TO_PROD = { Tags: [{ Key: 'penetrator:clusters', Value: 'prod' }] };
/** Any CA: the server under test never completes a TLS handshake. */
const TEST_CA = Buffer.from(readFileSync('test/fixtures/certs/kubernetes-ca.crt', 'utf8')).toString('base64');

// Powertools then writes through the global console, where the test can read its lines.
vi.hoisted(() => {
  process.env.POWERTOOLS_DEV = 'true';
});

const sm = mockClient(SecretsManagerClient);
const PASSWORD = 'pw-must-not-be-logged';
const KUBE_TOKEN = 'kube-token-must-not-be-logged';
const savedEnv = { ...process.env };

const nodeTask = {
  apiVersion: 'nodetask.apps.superedge.io/v1beta1',
  kind: 'NodeTask',
  metadata: { name: 'add-nodes' },
  spec: {
    nodeNamePrefix: 'edge',
    targetMachines: ['198.18.0.10'],
    sshCredential: 'edge-root',
    proxyNode: 'proxy-1',
  },
};
const planPayload = (extra: Record<string, unknown> = {}) => ({
  input: { nodeTask, ...extra },
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:penetrator:run-1',
});
const task = {
  name: 'add-nodes',
  cluster: 'prod',
  labelValue: 'add-nodes-abcdef',
  mode: 'proxy',
  installer: 'edgeadm',
  credential: 'edge-root',
  sshUser: 'root',
  sshPort: 22,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:penetrator:run-1',
  maxAttempts: 3,
  attemptTimeoutSeconds: 900,
  pollSeconds: 15,
};

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function kubeconfig(server: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'prod', cluster: { server, 'certificate-authority-data': TEST_CA } }],
    users: [{ name: 'admin', user: { token: KUBE_TOKEN } }],
    contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'admin' } }],
    'current-context': 'prod',
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the handler to fail');
    },
    (e: unknown) => e as Error,
  );
}

let output: string[];

beforeEach(() => {
  sm.reset();
  resetAwsDependencies();
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  output = [];
  for (const level of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      output.push(args.map(String).join(' '));
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env = { ...savedEnv, POWERTOOLS_DEV: 'true' };
});

afterAll(() => {
  resetAwsDependencies();
});

describe('plan handler', () => {
  it('throws InvalidNodeTask listing every problem', async () => {
    const error = await rejection(
      plan({ input: { nodeTask: { ...nodeTask, spec: { sshPort: 0 } } }, executionId: 'e' }),
    );
    expect(error).toBeInstanceOf(PenetratorError);
    expect(error.name).toBe(ErrorNames.InvalidNodeTask);
    expect(error.message).toContain('spec.sshCredential');
    expect(error.message).toContain('spec.sshPort');
    expect(sm).not.toHaveReceivedAnyCommand();
  });

  it('throws ClusterNotFound when no cluster is registered, or several and none is named', async () => {
    sm.on(ListSecretsCommand).resolves({ SecretList: [] });
    const none = await rejection(plan(planPayload()));
    expect(none.name).toBe(ErrorNames.ClusterNotFound);
    expect(none.message).toContain('no cluster is registered');
    sm.on(ListSecretsCommand).resolves({
      SecretList: [{ Name: 'penetrator/clusters/a' }, { Name: 'penetrator/clusters/b' }],
    });
    const several = await rejection(plan(planPayload()));
    expect(several.name).toBe(ErrorNames.ClusterNotFound);
    expect(several.message).toContain('(a, b)');
  });

  it('throws ClusterNotFound for a named cluster without a secret', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'not found', $metadata: {} }),
    );
    const error = await rejection(plan(planPayload({ cluster: 'prod' })));
    expect(error.name).toBe(ErrorNames.ClusterNotFound);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' });
  });

  it('throws CredentialInvalid when the credential holds neither key', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' }).resolves({
      SecretString: kubeconfig('https://127.0.0.1:1'),
    });
    sm.on(DescribeSecretCommand, { SecretId: 'penetrator/credentials/edge-root' }).resolves(BOUND_TO_PROD);
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/credentials/edge-root' }).resolves({
      SecretString: '{"user":"root"}',
    });
    expect(await rejection(plan(planPayload({ cluster: 'prod' })))).toMatchObject({
      name: ErrorNames.CredentialInvalid,
    });
  });

  it.each([
    ['names no cluster', [], 'spec.sshCredential: credential edge-root names no cluster it may be used for'],
    [
      'serves another cluster',
      [{ Key: 'penetrator:clusters', Value: 'lab' }],
      'spec.sshCredential: credential edge-root may not be used for cluster prod (it serves lab)',
    ],
    [
      'may not reach the machine',
      [
        { Key: 'penetrator:clusters', Value: 'prod' },
        { Key: 'penetrator:ranges', Value: '10.0.0.0/8' },
      ],
      'spec.targetMachines[0]: 198.18.0.10 is outside the ranges credential edge-root may reach (10.0.0.0/8)',
    ],
  ])('throws InvalidNodeTask when the credential %s, before its value is read', async (_, tags, problem) => {
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' }).resolves({
      SecretString: kubeconfig('https://127.0.0.1:1'),
    });
    sm.on(DescribeSecretCommand, { SecretId: 'penetrator/credentials/edge-root' }).resolves({ Tags: tags });
    const error = await rejection(plan(planPayload({ cluster: 'prod' })));
    expect(error.name).toBe(ErrorNames.InvalidNodeTask);
    expect(error.message).toContain(problem);
    expect(sm).not.toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'penetrator/credentials/edge-root',
    });
  });

  it('throws Transient when the apiserver does not answer, and logs no secret', async () => {
    const port = await closedPort();
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' }).resolves({
      SecretString: kubeconfig(`https://127.0.0.1:${port}`),
    });
    sm.on(DescribeSecretCommand, { SecretId: 'penetrator/credentials/edge-root' }).resolves(BOUND_TO_PROD);
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/credentials/edge-root' }).resolves({
      SecretString: JSON.stringify({ passwd: PASSWORD }),
    });
    const error = await rejection(plan(planPayload({ cluster: 'prod' })));
    expect(error).toMatchObject({ name: ErrorNames.Transient, retryable: true });
    const logged = output.join('');
    expect(logged).toContain(ErrorNames.Transient);
    expect(logged).toMatch(/"task": ?"add-nodes"/);
    expect(logged).not.toContain(PASSWORD);
    expect(logged).not.toContain(KUBE_TOKEN);
  });
});

describe('Lambda context', () => {
  it('tags the log lines of an invocation with its request id', async () => {
    const context = {
      functionName: 'penetrator-plan',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:penetrator-plan',
      memoryLimitInMB: '512',
      awsRequestId: 'req-0123',
      logGroupName: '/aws/lambda/penetrator-plan',
      logStreamName: 'stream',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    await rejection(plan({ input: { nodeTask: {} }, executionId: 'e' }, context));
    expect(output.join('')).toMatch(/"function_request_id": ?"req-0123"/);
  });
});

describe('payload and settings errors', () => {
  it('refuses a malformed payload with a non-retryable InvalidPayload error', async () => {
    expect(await rejection(lock({ action: 'steal', task }))).toMatchObject({
      name: 'Penetrator.InvalidPayload',
      retryable: false,
    });
    expect(await rejection(lock({ action: 'acquire', task: { ...task, sshPort: 'x' } }))).toMatchObject({
      name: 'Penetrator.InvalidPayload',
      message: 'payload.task.sshPort: expected a whole number',
    });
  });

  it('refuses per-node calls for a task that Prepare has not completed', async () => {
    const node = { name: 'edge-a', ip: '198.18.0.10', proxyNode: 'proxy-1', reinstall: false };
    const unprepared = await rejection(startInstall({ task, node }));
    expect(unprepared.name).toBe('Penetrator.InvalidPayload');
    expect(unprepared.message).toContain('Prepare cluster');
    const noAttempt = await rejection(
      checkInstall({
        task: { ...task, ownerUid: 'u', taskObject: 'o', credentialSecret: 's', scriptConfigMap: 'c' },
        node,
      }),
    );
    expect(noAttempt.name).toBe('Penetrator.InvalidPayload');
    expect(noAttempt.message).toContain('payload.attempt');
  });

  it('reports invalid runtime settings by name', async () => {
    process.env.PENETRATOR_PACKAGE_SOURCE = '{"kind":"ftp","url":"x"}';
    const error = await rejection(plan(planPayload()));
    expect(error.name).toBe('Penetrator.SettingsError');
    expect(error.message).toContain('packageSource.kind');
  });
});
