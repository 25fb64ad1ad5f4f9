import { createHmac, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';
import { kubectl } from '../../sandbox/kubectl';
import { sleep, waitFor } from '../../sandbox/process';

/** GET against the test apiserver, trusting only its CA; `bearer` undefined means anonymous. */
function get(cp: ControlPlane, path: string, bearer?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.server}${path}`,
      { ca: cp.caPem, headers: bearer ? { Authorization: `Bearer ${bearer}` } : {}, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

interface ClusterInfoKubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
}

const b64url = (s: string): string => Buffer.from(s).toString('base64url');

describe('control plane', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;

  beforeAll(async () => {
    cp = await startControlPlane();
    const kc = new KubeConfig();
    kc.loadFromString(cp.kubeconfigYaml);
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it('serves Kubernetes v1.37.2 and is ready', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.37.2');
    expect(version.major).toBe('1');
    expect(version.minor).toBe('37');

    const readyz = await get(cp, '/readyz', cp.adminToken);
    expect(readyz).toEqual({ status: 200, body: 'ok' });
  });

  it('is reached by the kubectl of the same release, built beside it', async () => {
    const run = await kubectl(cp.kubeconfigPath, ['version', '-o', 'json']);
    expect(run.code).toBe(0);
    const versions = JSON.parse(run.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(versions.clientVersion.gitVersion).toBe('v1.37.2');
    expect(versions.serverVersion.gitVersion).toBe('v1.37.2');
    const namespaces = await kubectl(cp.kubeconfigPath, ['get', 'namespace', 'edge-system', '-o', 'name']);
    expect(namespaces).toMatchObject({ code: 0, stdout: 'namespace/edge-system\n' });
  });

  it('rejects a wrong token and accepts the admin token', async () => {
    expect((await get(cp, '/api/v1/namespaces', 'not-a-valid-token')).status).toBe(401);
    expect((await get(cp, '/api/v1/namespaces', cp.adminToken)).status).toBe(200);
    expect((await get(cp, '/api/v1/namespaces')).status).toBe(403);
  });

  it('publishes cluster-info, readable anonymously, with the CA and the site server', async () => {
    const res = await get(cp, '/api/v1/namespaces/kube-public/configmaps/cluster-info');
    expect(res.status).toBe(200);
    const cm = JSON.parse(res.body) as { data: { kubeconfig: string } };
    const kubeconfig = parse(cm.data.kubeconfig) as ClusterInfoKubeconfig;
    const cluster = kubeconfig.clusters[0]!.cluster;
    expect(Buffer.from(cluster['certificate-authority-data'], 'base64').toString()).toBe(cp.caPem);
    expect(cluster.server).toBe(cp.siteServer);
    expect(cp.siteServer).toBe(cp.server);
  });

  it('has the edge-system namespace and the default service account', async () => {
    const ns = await core.readNamespace({ name: 'edge-system' });
    expect(ns.status?.phase).toBe('Active');
    const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    expect(sa.metadata?.name).toBe('default');
  });

  it('signs cluster-info for a bootstrap token, and the token authenticates', async () => {
    const tokenId = 'abcdef';
    const tokenSecret = '0123456789abcdef';
    await core.createNamespacedSecret({
      namespace: 'kube-system',
      body: {
        metadata: { name: `bootstrap-token-${tokenId}` },
        type: 'bootstrap.kubernetes.io/token',
        stringData: {
          'token-id': tokenId,
          'token-secret': tokenSecret,
          'usage-bootstrap-authentication': 'true',
          'usage-bootstrap-signing': 'true',
          'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
          expiration: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      },
    });

    // The bootstrap signer (a real controller) adds a detached JWS of the kubeconfig under this key.
    const cm = await waitFor(
      async () => {
        const c = await core.readNamespacedConfigMap({ name: 'cluster-info', namespace: 'kube-public' });
        return c.data?.[`jws-kubeconfig-${tokenId}`] !== undefined ? c : undefined;
      },
      { what: 'jws-kubeconfig key in cluster-info', timeoutMs: 30_000, intervalMs: 500 },
    );
    const jws = cm.data![`jws-kubeconfig-${tokenId}`]!;
    const [header, payload, signature] = jws.split('.');
    expect(payload).toBe('');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toMatchObject({
      alg: 'HS256',
      kid: tokenId,
    });
    const expected = createHmac('sha256', tokenSecret)
      .update(`${header}.${b64url(cm.data!.kubeconfig!)}`)
      .digest('base64url');
    expect(signature).toBe(expected);

    // kubeadm's bindings let the token read Nodes (a join checks for a name clash), not Secrets.
    const bootstrap = `${tokenId}.${tokenSecret}`;
    expect((await get(cp, '/api/v1/nodes/no-such-node', bootstrap)).status).toBe(404);
    expect((await get(cp, '/api/v1/namespaces/kube-system/secrets', bootstrap)).status).toBe(403);
  });

  it('garbage-collects a ConfigMap whose owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: 'edge-system',
      body: { metadata: { name: 'gc-owner' }, data: { role: 'owner' } },
    });
    await core.createNamespacedConfigMap({
      namespace: 'edge-system',
      body: {
        metadata: {
          name: 'gc-dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid: owner.metadata!.uid! },
          ],
        },
        data: { role: 'dependent' },
      },
    });
    // Still there while the owner lives: the collector deletes because of the owner, not by chance.
    await sleep(2_000);
    await expect(
      core.readNamespacedConfigMap({ name: 'gc-dependent', namespace: 'edge-system' }),
    ).resolves.toBeDefined();

    await core.deleteNamespacedConfigMap({ name: 'gc-owner', namespace: 'edge-system' });
    await waitFor(
      async () => {
        try {
          await core.readNamespacedConfigMap({ name: 'gc-dependent', namespace: 'edge-system' });
          return undefined;
        } catch (err: unknown) {
          return (err as { code?: number }).code === 404 ? true : undefined;
        }
      },
      { what: 'garbage collection of gc-dependent', timeoutMs: 60_000, intervalMs: 500 },
    );
  });
});

describe('control plane with a site address', () => {
  it('publishes the advertise address in cluster-info and serves it in its certificate', async () => {
    // An address of the site range that no interface owns: it is only published, nothing is sent to it.
    const cp = await startControlPlane({ advertiseAddress: '198.18.255.1' });
    try {
      expect(cp.siteServer).toMatch(/^https:\/\/198\.18\.255\.1:\d+$/);
      expect(new URL(cp.siteServer).port).toBe(new URL(cp.server).port);
      const res = await get(cp, '/api/v1/namespaces/kube-public/configmaps/cluster-info');
      const kubeconfig = parse(
        (JSON.parse(res.body) as { data: { kubeconfig: string } }).data.kubeconfig,
      ) as ClusterInfoKubeconfig;
      expect(kubeconfig.clusters[0]!.cluster.server).toBe(cp.siteServer);

      const serving = new X509Certificate(readFileSync(`${cp.dir}/pki/apiserver.crt`));
      expect(serving.subjectAltName).toContain('IP Address:198.18.255.1');
      expect(serving.subjectAltName).toContain('DNS:kubernetes.default.svc.cluster.local');
      expect(serving.verify(new X509Certificate(cp.caPem).publicKey)).toBe(true);
    } finally {
      await cp.stop();
    }
    expect(existsSync(cp.dir)).toBe(false);
  });
});
