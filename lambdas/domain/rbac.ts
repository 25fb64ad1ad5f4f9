/**
 * The rights the product's own identity needs in a cluster, as the manifests a cluster admin applies
 * (`penetrator cluster rbac`). Every rule names the calls that need it; a right no call uses is not
 * granted. One home: the CLI prints these, the sandbox binds the product's token to them, and the
 * tests remove one rule at a time to show each is needed.
 */
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './job-names';
import { NODE_TASK_API_VERSION } from './node-task-kind';

export const RBAC_NAME = 'penetrator';
export const PRODUCT_NAMESPACE = 'edge-system';
export const TOKEN_NAMESPACE = 'kube-system';
export const CLUSTER_INFO_NAMESPACE = 'kube-public';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const NODE_TASK_GROUP = NODE_TASK_API_VERSION.split('/')[0]!;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * Where a rule is granted: the product's namespace, kube-system, kube-public, `default` (where the
 * apiserver keeps Events about a cluster-scoped object, ADR 0035), or cluster-wide.
 */
export type RuleScope = 'edge-system' | 'kube-system' | 'kube-public' | 'default' | 'cluster';

export interface ShippedRule {
  /** Stable id, for tests and the operator guide. */
  id: string;
  scope: RuleScope;
  rule: PolicyRule;
  /** The calls that need it. */
  why: string;
}

/**
 * The whole list. `create` cannot be limited to names (the name is in the body, which RBAC does not
 * read), and bootstrap-token names derive from each execution, so kube-system Secrets are granted
 * create/get/delete without names — but never list or watch, so no token is read without its name.
 */
export const SHIPPED_RULES: readonly ShippedRule[] = [
  {
    id: 'configmaps',
    scope: 'edge-system',
    rule: {
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    },
    why: 'the task object and the script ConfigMap: Plan reads, Prepare writes, a cancel deletes, the API lists',
  },
  {
    id: 'configmaps-finalizers',
    scope: 'edge-system',
    rule: { apiGroups: [''], resources: ['configmaps/finalizers'], verbs: ['update'] },
    why: "what a task creates is owned by its task object and blocks that object's deletion (OwnerReferencesPermissionEnforcement)",
  },
  {
    id: 'secrets',
    scope: 'edge-system',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'delete'] },
    why: 'the projected credential: Prepare writes it, direct mode reads it by name, cleanup deletes it',
  },
  {
    id: 'jobs',
    scope: 'edge-system',
    rule: { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'create', 'delete'] },
    why: 'the install Jobs: Start install creates, Check install reads, Plan and cleanup list and stop them',
  },
  {
    id: 'pods',
    scope: 'edge-system',
    rule: { apiGroups: [''], resources: ['pods'], verbs: ['list', 'delete'] },
    why: "an install Pod's reason and host key, and stopping a task's Pods at cleanup",
  },
  {
    id: 'leases',
    scope: 'edge-system',
    rule: {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['get', 'create', 'update', 'delete'],
    },
    why: "the cluster lock and direct mode's per-machine install lock",
  },
  {
    id: 'events',
    scope: 'edge-system',
    rule: { apiGroups: [''], resources: ['events'], verbs: ['create', 'get', 'list'] },
    why: "the task's Events, written by the workflow (a repeated write reads the one that exists) and listed by the API",
  },
  {
    id: 'bootstrap-tokens',
    scope: 'kube-system',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'get', 'delete'] },
    why: "the task's join token: Prepare creates it, then reads it by name; every ending deletes it by name",
  },
  {
    id: 'cluster-info',
    scope: 'kube-public',
    rule: { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cluster-info'] },
    why: 'the join address and CA hash, read by Prepare',
  },
  {
    id: 'node-events',
    scope: 'default',
    rule: { apiGroups: [''], resources: ['events'], verbs: ['create', 'get'] },
    why: "each node's Events about its NodeTask, where `kubectl describe nt` reads them (a repeated write reads the one that exists)",
  },
  {
    id: 'nodes',
    scope: 'cluster',
    rule: { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch', 'delete'] },
    why: 'Plan lists them, Check install labels the installed Node and deletes the one it replaces, proxies are watched',
  },
  {
    id: 'nodetasks',
    scope: 'cluster',
    rule: {
      apiGroups: [NODE_TASK_GROUP],
      resources: ['nodetasks'],
      verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
    },
    why: 'the task object: Prepare adopts or creates it, a cancel deletes it, sync watches it and keeps its finalizer',
  },
  {
    id: 'nodetasks-status',
    scope: 'cluster',
    rule: {
      apiGroups: [NODE_TASK_GROUP],
      resources: ['nodetasks/status'],
      verbs: ['get', 'patch', 'update'],
    },
    why: "the task's progress, written at every step",
  },
  {
    id: 'nodetasks-finalizers',
    scope: 'cluster',
    rule: { apiGroups: [NODE_TASK_GROUP], resources: ['nodetasks/finalizers'], verbs: ['update'] },
    why: 'the run record is owned by its NodeTask and blocks its deletion (OwnerReferencesPermissionEnforcement)',
  },
];

export type ManifestObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
} & Record<string, unknown>;

const labels = (): Record<string, string> => ({ [MANAGED_BY_LABEL]: MANAGED_BY_VALUE });

const roleName = (scope: RuleScope): string =>
  scope === 'edge-system'
    ? RBAC_NAME
    : `${RBAC_NAME}:${{ 'kube-system': 'join-tokens', 'kube-public': 'cluster-info', default: 'node-events', cluster: '' }[scope]}`;

const subject = { kind: 'ServiceAccount', name: RBAC_NAME, namespace: PRODUCT_NAMESPACE };

/**
 * The manifests, in apply order: the namespace and ServiceAccount, then each Role with its binding,
 * then the ClusterRole with its binding. `without` leaves rules out (by id), for tests that show a
 * rule is needed; a Role left with no rules is still written, empty.
 */
export function rbacManifests(
  options: { without?: readonly string[]; subjectName?: string } = {},
): ManifestObject[] {
  const without = new Set(options.without ?? []);
  const kept = SHIPPED_RULES.filter((r) => !without.has(r.id));
  const account = { ...subject, name: options.subjectName ?? RBAC_NAME };
  const suffix = options.subjectName === undefined ? '' : `:${options.subjectName}`;
  const out: ManifestObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PRODUCT_NAMESPACE, labels: labels() } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: account.name, namespace: PRODUCT_NAMESPACE, labels: labels() },
      automountServiceAccountToken: false,
    },
  ];
  for (const scope of ['edge-system', 'kube-system', 'kube-public', 'default'] as const) {
    const name = `${roleName(scope)}${suffix}`;
    const rules = kept.filter((r) => r.scope === scope).map((r) => r.rule);
    out.push(
      {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'Role',
        metadata: { name, namespace: scope, labels: labels() },
        rules,
      },
      {
        apiVersion: `${RBAC_GROUP}/v1`,
        kind: 'RoleBinding',
        metadata: { name, namespace: scope, labels: labels() },
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name },
        subjects: [account],
      },
    );
  }
  const clusterName = `${RBAC_NAME}${suffix}`;
  out.push(
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'ClusterRole',
      metadata: { name: clusterName, labels: labels() },
      rules: kept.filter((r) => r.scope === 'cluster').map((r) => r.rule),
    },
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: clusterName, labels: labels() },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: clusterName },
      subjects: [account],
    },
  );
  return out;
}

/** A kubeconfig for the ServiceAccount's token, on the admin kubeconfig's server and CA. */
export function serviceAccountKubeconfig(input: {
  cluster: string;
  server: string;
  caData: string;
  token: string;
  user?: string;
}): Record<string, unknown> {
  const user = input.user ?? `${PRODUCT_NAMESPACE}:${RBAC_NAME}`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: input.cluster, cluster: { server: input.server, 'certificate-authority-data': input.caData } },
    ],
    users: [{ name: user, user: { token: input.token } }],
    contexts: [
      { name: input.cluster, context: { cluster: input.cluster, user, namespace: PRODUCT_NAMESPACE } },
    ],
    'current-context': input.cluster,
  };
}

/** The server and CA of a kubeconfig's current context (already judged by kubeconfigProblems). */
export function currentCluster(doc: unknown): { name: string; server: string; caData: string } | undefined {
  const rec = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const root = rec(doc);
  if (root === undefined) return undefined;
  const find = (section: string, name: unknown): Record<string, unknown> | undefined => {
    const list = Array.isArray(root[section]) ? (root[section] as unknown[]) : [];
    return list.map(rec).find((e) => e?.name === name);
  };
  const context = rec(find('contexts', root['current-context'])?.context);
  const clusterName = context?.cluster;
  const cluster = rec(find('clusters', clusterName)?.cluster);
  const server = cluster?.server;
  const caData = cluster?.['certificate-authority-data'];
  if (typeof clusterName !== 'string' || typeof server !== 'string' || typeof caData !== 'string')
    return undefined;
  return { name: clusterName, server, caData };
}
