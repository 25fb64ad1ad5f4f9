import { describe, expect, it } from 'vitest';
import {
  mergedCrd,
  nodeTaskCrd,
  type CustomResourceDefinitionObject,
} from '../../../lambdas/domain/node-task-crd';

/** A CRD of the same resource as another installer might have written it: one open v1beta1. */
function existingCrd(
  overrides: Partial<CustomResourceDefinitionObject['spec']> = {},
): CustomResourceDefinitionObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: 'nodetasks.nodetask.apps.superedge.io',
      resourceVersion: '42',
      labels: { team: 'edge' },
    },
    spec: {
      group: 'nodetask.apps.superedge.io',
      scope: 'Cluster',
      names: { plural: 'nodetasks', singular: 'nodetask', kind: 'NodeTask', shortNames: ['nt', 'ntask'] },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
      ...overrides,
    },
  };
}

describe('the NodeTask CRD', () => {
  it("is the original's resource: cluster-scoped nodetasks of nodetask.apps.superedge.io/v1beta1, short name nt", () => {
    const crd = nodeTaskCrd();
    expect(crd.metadata.name).toBe('nodetasks.nodetask.apps.superedge.io');
    expect(crd.spec).toMatchObject({
      group: 'nodetask.apps.superedge.io',
      scope: 'Cluster',
      names: { plural: 'nodetasks', kind: 'NodeTask', shortNames: ['nt'] },
    });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1beta1', true, true]]);
  });

  it("has a status subresource holding the original's status, per-node detail and conditions", () => {
    const [version] = nodeTaskCrd().spec.versions;
    expect(version!.subresources).toEqual({ status: {} });
    const status = (version!.schema!.openAPIV3Schema as { properties: { status: { properties: object } } })
      .properties.status.properties;
    expect(Object.keys(status)).toEqual(
      expect.arrayContaining(['nodetaskStatus', 'nodeStatus', 'nodes', 'conditions']),
    );
    expect(version!.additionalPrinterColumns!.map((c) => c.jsonPath)).toContain('.status.nodetaskStatus');
  });

  it('is written over an existing one keeping its resource, labels and extra short names, and its version', () => {
    const merged = mergedCrd(existingCrd());
    expect(merged.ok).toBe(true);
    if (!merged.ok) return;
    expect(merged.crd.metadata).toMatchObject({
      resourceVersion: '42',
      labels: { team: 'edge', 'app.kubernetes.io/managed-by': 'penetrator' },
    });
    expect(merged.crd.spec.names.shortNames).toEqual(['nt', 'ntask']);
    expect(merged.crd.spec.versions).toEqual(nodeTaskCrd().spec.versions);
  });

  it('keeps any other version served, but stores v1beta1', () => {
    const old = existingCrd();
    old.spec.versions = [
      { ...old.spec.versions[0]!, storage: false },
      { name: 'v1alpha1', served: true, storage: true },
    ];
    const merged = mergedCrd(old);
    expect(merged.ok && merged.crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([
      ['v1beta1', true, true],
      ['v1alpha1', true, false],
    ]);
  });

  it('refuses, with the reason, a namespaced CRD or one of another kind under the same name', () => {
    expect(mergedCrd(existingCrd({ scope: 'Namespaced' }))).toEqual({
      ok: false,
      problems: [
        'CRD nodetasks.nodetask.apps.superedge.io is Namespaced-scoped; NodeTasks are cluster-scoped, and the scope of a CRD cannot change while it exists',
      ],
    });
    const otherKind = existingCrd();
    otherKind.spec.names = { ...otherKind.spec.names, kind: 'EdgeTask' };
    expect(mergedCrd(otherKind)).toMatchObject({
      ok: false,
      problems: [expect.stringContaining('serves kind EdgeTask')],
    });
  });
});
