/**
 * The cluster's nodes as `kubectl get nodes` shows them, plus the column that tells which task
 * installed each one: NAME, STATUS, ROLES, INTERNAL-IP, TASK-LABEL. Pure: it renders V1Node objects.
 */
import type { V1Node } from '@kubernetes/client-node';
import { NODE_TASK_LABEL } from '../../lambdas/domain/contracts';
import { renderTable, type Column } from '../output';

export interface NodeListingRow {
  name: string;
  status: string;
  roles: string;
  internalIp: string;
  taskLabel: string;
}

const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';
/** The older role label kubectl still reads. */
const LEGACY_ROLE_LABEL = 'kubernetes.io/role';

/** Ready / NotReady / Unknown from the Ready condition, as kubectl prints it. */
export function nodeStatus(node: V1Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const status = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  return node.spec?.unschedulable ? `${status},SchedulingDisabled` : status;
}

/** Role names from node-role.kubernetes.io/<role> labels (and kubernetes.io/role), sorted, comma-joined. */
export function nodeRoles(node: V1Node): string {
  const labels = node.metadata?.labels ?? {};
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith(ROLE_LABEL_PREFIX) && key.length > ROLE_LABEL_PREFIX.length) {
      roles.add(key.slice(ROLE_LABEL_PREFIX.length));
    }
    if (key === LEGACY_ROLE_LABEL && value !== '') roles.add(value);
  }
  return [...roles].sort().join(',');
}

export function nodeRow(node: V1Node): NodeListingRow {
  return {
    name: node.metadata?.name ?? '',
    status: nodeStatus(node),
    roles: nodeRoles(node),
    internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    taskLabel: node.metadata?.labels?.[NODE_TASK_LABEL] ?? '',
  };
}

export const nodeListingColumns: ReadonlyArray<Column<NodeListingRow>> = [
  { header: 'name', value: (r) => r.name },
  { header: 'status', value: (r) => r.status },
  { header: 'roles', value: (r) => r.roles },
  { header: 'internal-ip', value: (r) => r.internalIp },
  { header: 'task-label', value: (r) => r.taskLabel },
];

/** The table, rows sorted by name as kubectl sorts them; empty cells read `<none>`. */
export function renderNodeListing(nodes: readonly V1Node[]): string {
  const rows = nodes.map(nodeRow).sort((a, b) => a.name.localeCompare(b.name));
  return renderTable(rows, nodeListingColumns);
}
