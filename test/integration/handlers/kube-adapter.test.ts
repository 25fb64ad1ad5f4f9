/**
 * The kube adapter against a real apiserver: how 404, 409 and preconditions become results, and how
 * refused credentials and an unreachable apiserver become typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeFromKubeconfig } from '../../../lambdas/adapters/kube';
import { TASK_NAMESPACE } from '../../../lambdas/domain/contracts';
import type { ConfigMapObject, NodeObject } from '../../../lambdas/domain/kube-types';
import { ErrorNames } from '../../../lambdas/errors';
import type { Kube } from '../../../lambdas/ports';
import { buildKubeconfig, startControlPlane, type ControlPlane } from '../../../sandbox/control-plane';
import { freePort } from '../../../sandbox/process';

let cp: ControlPlane;
let kube: Kube;

beforeAll(async () => {
  cp = await startControlPlane();
  kube = kubeFromKubeconfig('test', cp.kubeconfigYaml);
});

afterAll(async () => {
  await cp?.stop();
});

function configMap(name: string, data: Record<string, string>): ConfigMapObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: TASK_NAMESPACE }, data };
}

describe('kube adapter', () => {
  it('reports a missing object as undefined and a missing delete as absent', async () => {
    expect(
      await kube.get({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: 'nothing-here' }),
    ).toBeUndefined();
    expect(await kube.get({ kind: 'Node', name: 'no-such-node' })).toBeUndefined();
    expect(await kube.delete({ kind: 'Secret', namespace: TASK_NAMESPACE, name: 'nothing-here' })).toBe(
      'absent',
    );
    expect(
      await kube.mergePatch({ kind: 'Node', name: 'no-such-node' }, { metadata: { labels: { a: 'b' } } }),
    ).toBe('absent');
  });

  it('creates, then answers a second create with the existing object to adopt', async () => {
    const first = await kube.create(configMap('adopt-me', { v: '1' }));
    expect(first.outcome).toBe('created');
    expect(first.object.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const second = await kube.create(configMap('adopt-me', { v: '2' }));
    expect(second.outcome).toBe('exists');
    expect(second.object.metadata.uid).toBe(first.object.metadata.uid);
    expect(second.object.data).toEqual({ v: '1' });
  });

  it('refuses a replace or delete based on a stale resourceVersion', async () => {
    const { object } = await kube.create(configMap('versioned', { v: '1' }));
    const stale = object.metadata.resourceVersion!;
    const updated = await kube.replace({
      ...configMap('versioned', { v: '2' }),
      metadata: { ...object.metadata },
    });
    expect(updated).not.toBe('conflict');
    expect(
      await kube.replace({
        ...configMap('versioned', { v: '3' }),
        metadata: { ...object.metadata, resourceVersion: stale },
      }),
    ).toBe('conflict');
    expect(
      await kube.delete(
        { kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: 'versioned' },
        { resourceVersion: stale },
      ),
    ).toBe('conflict');
    const current = await kube.get<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      name: 'versioned',
    });
    expect(current?.data).toEqual({ v: '2' });
    expect(
      await kube.delete(
        { kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: 'versioned' },
        { resourceVersion: current!.metadata.resourceVersion! },
      ),
    ).toBe('deleted');
  });

  it('merge-patches labels onto a Node', async () => {
    await kube.create<NodeObject>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'patch-node' } });
    const patched = await kube.mergePatch<NodeObject>(
      { kind: 'Node', name: 'patch-node' },
      { metadata: { labels: { 'example.com/x': 'y' } } },
    );
    expect(patched).not.toBe('absent');
    expect((patched as NodeObject).metadata.labels?.['example.com/x']).toBe('y');
  });

  it('lists across pages and fills in kind and apiVersion', async () => {
    for (let i = 0; i < 12; i++)
      await kube.create({
        ...configMap(`paged-${i}`, {}),
        metadata: { name: `paged-${i}`, namespace: TASK_NAMESPACE, labels: { page: 'test' } },
      });
    const paged = kubeFromKubeconfig('test', cp.kubeconfigYaml, { pageSize: 5 });
    const items = await paged.list<ConfigMapObject>({
      kind: 'ConfigMap',
      namespace: TASK_NAMESPACE,
      labelSelector: 'page=test',
    });
    expect(items.map((i) => i.metadata.name).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `paged-${i}`).sort(),
    );
    expect(items.every((i) => i.kind === 'ConfigMap' && i.apiVersion === 'v1')).toBe(true);
  });

  it('turns rejected credentials into a non-retryable ClusterNotFound naming the verb and resource', async () => {
    const bad = kubeFromKubeconfig(
      'test',
      buildKubeconfig({ server: cp.server, caPem: cp.caPem, user: 'nobody', token: 'not-a-valid-token' }),
    );
    const error = await bad
      .get({ kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: 'x' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: ErrorNames.ClusterNotFound, retryable: false });
    expect((error as Error).message).toContain('cannot get ConfigMap edge-system/x');
    expect((error as Error).message).toContain('HTTP 401');
    expect((error as Error).message).not.toContain('not-a-valid-token');
  });

  it('turns an unreachable apiserver into a retryable Transient error', async () => {
    const port = await freePort();
    const down = kubeFromKubeconfig(
      'test',
      buildKubeconfig({ server: `https://127.0.0.1:${port}`, caPem: cp.caPem, user: 'x', token: 'y' }),
    );
    const error = await down.list({ kind: 'Node' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: ErrorNames.Transient, retryable: true });
  });

  it('refuses kubeconfigs that run credential plugins', () => {
    const withExec = buildKubeconfig({ server: cp.server, caPem: cp.caPem, user: 'x', token: 'y' }).replace(
      /token: .*/,
      'exec: {command: /bin/true, apiVersion: client.authentication.k8s.io/v1}',
    );
    expect(() => kubeFromKubeconfig('test', withExec)).toThrow(/credential plugin/);
  });
});
