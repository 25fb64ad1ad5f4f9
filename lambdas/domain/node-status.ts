/**
 * What the product reads of a Node: its addresses, readiness and task label.
 */
import { NODE_TASK_LABEL } from './contracts';
import type { NodeObject } from './kube-types';

export function nodeInternalIps(node: NodeObject): string[] {
  return (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
}

export function nodeReady(node: NodeObject): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function nodeTaskLabel(node: NodeObject): string | undefined {
  return node.metadata.labels?.[NODE_TASK_LABEL];
}
