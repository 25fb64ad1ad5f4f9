/**
 * The NodeTask CustomResourceDefinition: the original's resource (cluster-scoped, group
 * nodetask.apps.superedge.io, version v1beta1, short name nt) with a status subresource that holds
 * the original's status (nodetaskStatus, nodeStatus) and the product's per-node detail and
 * conditions. Pure: cli/ and the sandbox send it through the Kube port (use-cases/install-crd.ts).
 *
 * The spec schema names the original's fields and keeps unknown ones: the product's extensions are
 * validated by domain/node-task-schema.ts, the one home of the spec's rules, before any work starts.
 */
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from './node-task-kind';

export const NODE_TASK_GROUP = NODE_TASK_API_VERSION.split('/')[0]!;
export const NODE_TASK_VERSION = NODE_TASK_API_VERSION.split('/')[1]!;
export const NODE_TASK_PLURAL = 'nodetasks';
export const NODE_TASK_SHORT_NAME = 'nt';
export const NODE_TASK_CRD_NAME = `${NODE_TASK_PLURAL}.${NODE_TASK_GROUP}`;
export const CRD_API_VERSION = 'apiextensions.k8s.io/v1';

/** The original's two task states. */
export const NodeTaskStatuses = { creating: 'creating', ready: 'ready' } as const;

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema: Record<string, unknown> };
  subresources?: Record<string, unknown>;
  additionalPrinterColumns?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface CustomResourceDefinitionObject {
  apiVersion: typeof CRD_API_VERSION;
  kind: 'CustomResourceDefinition';
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    group: string;
    scope: 'Cluster' | 'Namespaced';
    names: { plural: string; singular: string; kind: string; listKind?: string; shortNames?: string[] };
    versions: CrdVersion[];
    [key: string]: unknown;
  };
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    storedVersions?: string[];
  };
}

const str = (description: string) => ({ type: 'string', description });
const int = (description: string) => ({ type: 'integer', description });
const stringMap = (description: string) => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string' },
});

const specSchema = {
  type: 'object',
  description:
    "The machines to join and how to reach them. The original's fields are listed; the product's " +
    'extensions are kept and checked by Penetrator before any work starts.',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    nodeNamePrefix: str('prefix of the generated node names, <prefix>-<6 of [a-z0-9]>'),
    targetMachines: {
      type: 'array',
      description: 'addresses of the machines to join',
      items: { type: 'string' },
    },
    nodeNamesOverride: stringMap('node name → address, for reinstalls and renames'),
    sshCredential: str('name of the SSH credential holding passwd or sshkey'),
    proxyNode: str('the in-cluster node whose Job reaches the machines'),
    sshPort: int('SSH port of the machines (default 22)'),
  },
};

/** One machine's detail, keyed by node name in status.nodes: a map, so each node is written on its own. */
const nodeDetail = {
  type: 'object',
  required: ['ip', 'state'],
  properties: {
    ip: str('machine address'),
    state: { type: 'string', enum: ['pending', 'installing', 'installed', 'failed'] },
    attempts: int('install attempts made in the current run'),
    reason: str('why the last attempt failed'),
  },
};

const condition = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: str('condition type'),
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: str('one word, CamelCase'),
    message: str('for humans'),
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64' },
  },
};

const statusSchema = {
  type: 'object',
  properties: {
    nodetaskStatus: str("the original's task state: creating, or ready once every machine is installed"),
    nodeStatus: stringMap("the original's record: node name → address of every machine not yet installed"),
    labelValue: str('value of app.superedge.io/node-label on the nodes this task installed'),
    execution: str('the run that owns the objects of this task'),
    installed: int('machines installed'),
    failed: int('machines given up on'),
    total: int('machines of the task'),
    installSeconds: int('seconds the last finished install took, from its Job creation to its completion'),
    nodes: {
      type: 'object',
      description: 'node name → state, attempts and last reason of its machine',
      additionalProperties: nodeDetail,
    },
    conditions: {
      type: 'array',
      items: condition,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
};

/** What `kubectl get nt` shows. */
const printerColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.nodetaskStatus' },
  { name: 'Installed', type: 'integer', jsonPath: '.status.installed' },
  { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
  { name: 'Total', type: 'integer', jsonPath: '.status.total' },
  { name: 'Proxy', type: 'string', jsonPath: '.spec.proxyNode', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/** The v1beta1 version as the product serves and stores it. */
export function nodeTaskVersion(): CrdVersion {
  return {
    name: NODE_TASK_VERSION,
    served: true,
    storage: true,
    schema: {
      openAPIV3Schema: {
        type: 'object',
        description: 'A batch of edge machines to join to the cluster (SuperEdge Penetrator NodeTask).',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
          spec: specSchema,
          status: statusSchema,
        },
      },
    },
    subresources: { status: {} },
    additionalPrinterColumns: printerColumns,
  };
}

export function nodeTaskCrd(): CustomResourceDefinitionObject {
  return {
    apiVersion: CRD_API_VERSION,
    kind: 'CustomResourceDefinition',
    metadata: { name: NODE_TASK_CRD_NAME, labels: { 'app.kubernetes.io/managed-by': 'penetrator' } },
    spec: {
      group: NODE_TASK_GROUP,
      scope: 'Cluster',
      names: {
        plural: NODE_TASK_PLURAL,
        singular: 'nodetask',
        kind: NODE_TASK_KIND,
        listKind: `${NODE_TASK_KIND}List`,
        shortNames: [NODE_TASK_SHORT_NAME],
      },
      versions: [nodeTaskVersion()],
    },
  };
}

/**
 * The CRD to write over one already in the cluster (the original's, or an older one of the
 * product's): same resource, so its NodeTasks stay; v1beta1 replaced by the product's; any other
 * version kept as served but not stored, so objects stored under it stay readable. Returns the
 * reasons it cannot be done without harm instead (the scope cannot change under existing objects).
 */
export function mergedCrd(
  existing: CustomResourceDefinitionObject,
): { ok: true; crd: CustomResourceDefinitionObject } | { ok: false; problems: string[] } {
  const wanted = nodeTaskCrd();
  const problems: string[] = [];
  if (existing.spec.scope !== wanted.spec.scope) {
    problems.push(
      `CRD ${NODE_TASK_CRD_NAME} is ${existing.spec.scope}-scoped; NodeTasks are cluster-scoped, and the ` +
        'scope of a CRD cannot change while it exists',
    );
  }
  if (existing.spec.names.kind !== wanted.spec.names.kind) {
    problems.push(`CRD ${NODE_TASK_CRD_NAME} serves kind ${existing.spec.names.kind}, not ${NODE_TASK_KIND}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const others = existing.spec.versions
    .filter((v) => v.name !== NODE_TASK_VERSION)
    .map((v) => ({ ...v, storage: false }));
  const shortNames = [...new Set([...(existing.spec.names.shortNames ?? []), NODE_TASK_SHORT_NAME])];
  return {
    ok: true,
    crd: {
      ...wanted,
      metadata: {
        ...wanted.metadata,
        labels: { ...existing.metadata.labels, ...wanted.metadata.labels },
        ...(existing.metadata.annotations ? { annotations: existing.metadata.annotations } : {}),
        ...(existing.metadata.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: {
        ...wanted.spec,
        names: { ...wanted.spec.names, shortNames },
        versions: [...wanted.spec.versions, ...others],
      },
    },
  };
}
