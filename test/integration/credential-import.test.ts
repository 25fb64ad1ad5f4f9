/**
 * `penetrator credential import NAME --kubeconfig FILE` against a real apiserver: the original's
 * `edge-system/login-secret` goes to the deployment through the API (a signed PUT /credentials/NAME,
 * answered on loopback by the contract server), then the in-cluster copy is deleted. A Secret that
 * holds neither key, a task's own projection, or a store that refuses the write leaves the Secret
 * where it was.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importCredentialCommand } from '../../cli/commands/credential';
import { ApiClient } from '../../cli/remote/api-client';
import type { RemoteIo } from '../../cli/remote/connect';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import { TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { ErrorNames } from '../../lambdas/errors';
import type { Kube } from '../../lambdas/ports';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';
import { ContractServer, TEST_CREDENTIALS } from '../unit/cli/remote/contract-server';

const PASSWORD = 'edge-root-pw-import';

let cp: ControlPlane;
let core: CoreV1Api;
let kube: Kube;
let api: ApiClient;
const server = new ContractServer();

function capture(): RemoteIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    now: () => new Date(),
  };
  return io;
}

async function createSecret(name: string, data: Record<string, string>, labels?: Record<string, string>) {
  await core.createNamespacedSecret({
    namespace: TASK_NAMESPACE,
    body: { metadata: { name, ...(labels ? { labels } : {}) }, stringData: data },
  });
}

async function secretExists(name: string): Promise<boolean> {
  return core.readNamespacedSecret({ name, namespace: TASK_NAMESPACE }).then(
    () => true,
    (error: { code?: number }) => {
      if (error.code === 404) return false;
      throw error;
    },
  );
}

beforeAll(async () => {
  cp = await startControlPlane();
  const kc = new KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  kube = kubeFromKubeconfig('source', cp.kubeconfigYaml);
  const endpoint = await server.start();
  api = new ApiClient({
    endpoint: new URL(endpoint),
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
    retryDelayMs: 10,
  });
});

afterAll(async () => {
  await server.stop();
  await cp?.stop();
});

beforeEach(() => server.reset());

describe('penetrator credential import', () => {
  it("moves the original's login-secret into the deployment and deletes the in-cluster copy", async () => {
    await createSecret('login-secret', { passwd: PASSWORD });
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const io = capture();

    expect(await importCredentialCommand(api, kube, 'login-secret', { clusters: 'prod' }, io)).toBe(0);

    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.signatureValid).toBe(true);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ passwd: PASSWORD, clusters: ['prod'] });
    expect(io.out).toBe(
      'credential/login-secret stored (password) from secret edge-system/login-secret\n' +
        'secret edge-system/login-secret deleted\n',
    );
    expect(io.out + io.err).not.toContain(PASSWORD);
    expect(await secretExists('login-secret')).toBe(false);
  });

  it('keeps the Secret when the deployment refuses to store it', async () => {
    await createSecret('login-key', {
      sshkey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    });
    server.route('PUT /prod/credentials/login-key', () => ({
      status: 409,
      body: { message: 'credential login-key is scheduled for deletion' },
    }));

    await expect(
      importCredentialCommand(api, kube, 'login-key', { clusters: 'prod' }, capture()),
    ).rejects.toThrow('credential login-key is scheduled for deletion');
    expect(await secretExists('login-key')).toBe(true);
  });

  it("refuses a Secret without passwd or sshkey, and a task's own projection, leaving both", async () => {
    await createSecret('other-secret', { token: 'not-a-login' });
    await createSecret(
      'penetrator-credential-nodes',
      { passwd: PASSWORD },
      {
        'app.kubernetes.io/managed-by': 'penetrator',
      },
    );

    await expect(
      importCredentialCommand(api, kube, 'other-secret', { clusters: 'prod' }, capture()),
    ).rejects.toMatchObject({
      name: ErrorNames.CredentialInvalid,
      message: 'secret edge-system/other-secret holds neither passwd nor sshkey; nothing imported',
    });
    await expect(
      importCredentialCommand(api, kube, 'penetrator-credential-nodes', { clusters: 'prod' }, capture()),
    ).rejects.toMatchObject({ name: ErrorNames.CredentialInvalid });
    expect(server.requests).toHaveLength(0);
    expect(await secretExists('other-secret')).toBe(true);
    expect(await secretExists('penetrator-credential-nodes')).toBe(true);
  });
});
