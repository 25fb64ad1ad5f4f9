/**
 * `penetrator cluster crd` against a real apiserver: printed, it is a CRD the apiserver accepts;
 * applied over a CRD of the same resource as the original operator installs it, every NodeTask
 * already stored stays; the status subresource and the printer columns then work; applied again,
 * nothing changes; a namespaced CRD under the same name is refused and left as it is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { crdCommand } from '../../cli/commands/cluster-crd';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import { nodeTaskCrd } from '../../lambdas/domain/node-task-crd';
import { ErrorNames } from '../../lambdas/errors';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';

const CRD_NAME = 'nodetasks.nodetask.apps.superedge.io';
const GROUP = 'nodetask.apps.superedge.io';
const EXAMPLE = parse(
  readFileSync(new URL('../../examples/add-nodes.yaml', import.meta.url), 'utf8'),
) as Record<string, unknown>;

let cp: ControlPlane;
let extensions: ApiextensionsV1Api;
let objects: CustomObjectsApi;
let workDir: string;

/** The resource as the original operator's deployment defines it: open spec and status, no subresource. */
function originalStyleCrd(scope: 'Cluster' | 'Namespaced'): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      scope,
      names: { plural: 'nodetasks', singular: 'nodetask', kind: 'NodeTask', shortNames: ['nt'] },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
                status: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
              },
            },
          },
        },
      ],
    },
  };
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await read().catch(() => undefined);
      if (value === undefined) throw new Error(`${what} did not happen within 30 s`);
      return value;
    },
    { timeout: 30_000, interval: 200 },
  );
}

async function established(): Promise<void> {
  await waitFor('the CRD being established', async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
      ? true
      : undefined;
  });
}

async function apply(): Promise<string> {
  let out = '';
  await crdCommand(
    { apply: true, kubeconfig: cp.kubeconfigPath },
    { stdout: (text) => (out += text), kube: (yaml) => kubeFromKubeconfig('crd-test', yaml) },
  );
  return out;
}

beforeAll(async () => {
  cp = await startControlPlane();
  const kc = new KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml);
  extensions = kc.makeApiClient(ApiextensionsV1Api);
  objects = kc.makeApiClient(CustomObjectsApi);
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-crd-'));
});

afterAll(async () => {
  await cp?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('penetrator cluster crd', () => {
  it('prints the CRD as YAML without touching any cluster', async () => {
    let out = '';
    const code = await crdCommand(
      {},
      {
        stdout: (text) => (out += text),
        kube: () => {
          throw new Error('printing must not connect');
        },
      },
    );
    expect(code).toBe(0);
    expect(parse(out)).toEqual(nodeTaskCrd());
  });

  it("is applied over the original's CRD and keeps the NodeTask stored under it", async () => {
    await extensions.createCustomResourceDefinition({ body: originalStyleCrd('Cluster') });
    await established();
    const before = (await waitFor('the NodeTask being created', () =>
      objects.createClusterCustomObject({
        group: GROUP,
        version: 'v1beta1',
        plural: 'nodetasks',
        body: EXAMPLE,
      }),
    )) as { metadata: { uid: string } };

    expect(await apply()).toBe(`customresourcedefinition/${CRD_NAME} configured\n`);

    const after = (await objects.getClusterCustomObject({
      group: GROUP,
      version: 'v1beta1',
      plural: 'nodetasks',
      name: 'nodes',
    })) as { metadata: { uid: string }; spec: unknown };
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.spec).toEqual(EXAMPLE.spec);
    const crd = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    expect(crd.spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name)).toEqual(
      expect.arrayContaining(['Status', 'Installed', 'Failed', 'Total']),
    );
  });

  it("accepts the original's status through the status subresource", async () => {
    const patched = (await objects.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: 'v1beta1',
        plural: 'nodetasks',
        name: 'nodes',
        body: { status: { nodetaskStatus: 'creating', nodeStatus: { 'edge-abc123': '172.21.3.194' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as { status: unknown; spec: unknown };
    expect(patched.status).toEqual({
      nodetaskStatus: 'creating',
      nodeStatus: { 'edge-abc123': '172.21.3.194' },
    });
    expect(patched.spec).toEqual(EXAMPLE.spec);
  });

  it('changes nothing when applied again', async () => {
    const before = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    expect(await apply()).toBe(`customresourcedefinition/${CRD_NAME} unchanged\n`);
    const after = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('refuses a namespaced CRD of the same name and leaves it as it is', async () => {
    await extensions.deleteCustomResourceDefinition({ name: CRD_NAME });
    await waitFor('the CRD being gone', async () => {
      try {
        await extensions.readCustomResourceDefinition({ name: CRD_NAME });
        return undefined;
      } catch (error) {
        return (error as { code?: number }).code === 404 ? true : undefined;
      }
    });
    await extensions.createCustomResourceDefinition({ body: originalStyleCrd('Namespaced') });
    const before = await extensions.readCustomResourceDefinition({ name: CRD_NAME });

    await expect(apply()).rejects.toMatchObject({
      name: ErrorNames.CrdRefused,
      problems: [expect.stringContaining('is Namespaced-scoped; NodeTasks are cluster-scoped') as unknown],
    });
    const after = await extensions.readCustomResourceDefinition({ name: CRD_NAME });
    // Its status is still being written by the apiserver's own controllers just after creation, so
    // the resourceVersion may move; the generation moves only when something changes the spec.
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.spec).toEqual(before.spec);
    expect(after.spec.scope).toBe('Namespaced');
  });
});
