/**
 * Which existing Nodes a task may replace, and which targets it must refuse. Pure: Plan gathers the
 * cluster's Nodes and running install Jobs, this module judges them.
 *
 * Edge sites sit behind NAT and reuse the same private subnets, so an address names a machine only
 * inside one site. Every Node the product installs records the site it was installed through (the
 * SITE_ANNOTATION: the proxy node's name, or `direct`); a task's site is its own proxy nodes (or
 * `direct`). An old Node is replaced by address only when it was installed in the task's site.
 */
import { NODE_TASK_LABEL, PRODUCT_DOMAIN, type TaskMode } from './contracts';
import { IP_ANNOTATION, PROXY_ANNOTATION, TASK_LABEL } from './job-names';
import type { JobObject, NodeObject } from './kube-types';
import { nodeInternalIps } from './node-status';

/** The site a Node was installed through: a proxy node's name, or DIRECT_SITE. */
export const SITE_ANNOTATION = `${PRODUCT_DOMAIN}/site`;
export const DIRECT_SITE = 'direct';
/** Labels that mark a control-plane node (the second is the pre-1.24 name). */
export const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
] as const;

/** The site recorded on a Node installed through `proxyNode` ('' in direct mode). */
export function siteOf(proxyNode: string): string {
  return proxyNode === '' ? DIRECT_SITE : proxyNode;
}

/** The merge patch that marks a Node as installed by the task, through its site (and any more annotations). */
export function installedNodePatch(
  labelValue: string,
  proxyNode: string,
  annotations: Record<string, string> = {},
): Record<string, unknown> {
  return {
    metadata: {
      labels: { [NODE_TASK_LABEL]: labelValue },
      annotations: { ...annotations, [SITE_ANNOTATION]: siteOf(proxyNode) },
    },
  };
}

export function isControlPlane(node: NodeObject): boolean {
  const labels = node.metadata.labels ?? {};
  return CONTROL_PLANE_LABELS.some((key) => key in labels);
}

/** The task's site: the names its Nodes record when installed through it. */
export interface TaskSite {
  mode: TaskMode;
  proxyNodes: readonly string[];
}

export function inSite(node: NodeObject, site: TaskSite): boolean {
  const recorded = node.metadata.annotations?.[SITE_ANNOTATION];
  if (recorded === undefined) return false;
  return site.mode === 'direct' ? recorded === DIRECT_SITE : site.proxyNodes.includes(recorded);
}

/** One machine of the task, with the field path that named it. */
export interface PlannedTarget {
  name: string;
  ip: string;
  path: string;
}

/** A running install Job of another task, as Plan sees it. */
export interface BusyMachine {
  task: string;
  job: string;
  ip: string;
  /** The proxy node the Job runs on ('' in direct mode). */
  proxyNode: string;
}

export function busyMachineOf(job: JobObject): BusyMachine | undefined {
  const ip = job.metadata.annotations?.[IP_ANNOTATION];
  const task = job.metadata.labels?.[TASK_LABEL];
  if (ip === undefined || task === undefined) return undefined;
  return { task, job: job.metadata.name, ip, proxyNode: job.metadata.annotations?.[PROXY_ANNOTATION] ?? '' };
}

export interface OwnershipInput {
  taskName: string;
  site: TaskSite;
  /** Every Node of the cluster. */
  nodes: readonly NodeObject[];
  /** Running install Jobs (of any task; this task's own are ignored). */
  busy: readonly BusyMachine[];
  /** spec.replaceNodes: Nodes the task may replace although the rules below would keep them. */
  replaceNodes: ReadonlySet<string>;
}

/** What the task may do to one target: refuse it, or install it replacing the listed Nodes. */
export type Judgement = { refused: string } | { replaces: string[]; sameName: boolean };

interface Index {
  byName: Map<string, NodeObject>;
  byIp: Map<string, NodeObject[]>;
  proxyByIp: Map<string, string>;
}

function indexOf(input: OwnershipInput): Index {
  const byName = new Map<string, NodeObject>();
  const byIp = new Map<string, NodeObject[]>();
  const proxyByIp = new Map<string, string>();
  for (const node of input.nodes) {
    byName.set(node.metadata.name, node);
    for (const ip of nodeInternalIps(node)) {
      byIp.set(ip, [...(byIp.get(ip) ?? []), node]);
      if (input.site.proxyNodes.includes(node.metadata.name)) proxyByIp.set(ip, node.metadata.name);
    }
  }
  return { byName, byIp, proxyByIp };
}

const OVERRIDE_HINT = 'list it in spec.replaceNodes to replace it deliberately';

/** Why the Node under the target's own name may not be reinstalled, if it may not. */
function sameNameRefusal(target: PlannedTarget, node: NodeObject, input: OwnershipInput): string | undefined {
  if (input.replaceNodes.has(target.name)) return undefined;
  if (isControlPlane(node)) return `Node ${target.name} is a control-plane node; ${OVERRIDE_HINT}`;
  const addresses = nodeInternalIps(node);
  if (addresses.length > 0 && !addresses.includes(target.ip)) {
    // Giving the name to another machine would delete a healthy Node and orphan its machine.
    return `Node ${target.name} is another machine (${addresses.join(', ')}); a machine cannot take a running node's name`;
  }
  const recorded = node.metadata.annotations?.[SITE_ANNOTATION];
  if (recorded !== undefined && !inSite(node, input.site)) {
    return `Node ${target.name} was installed through ${recorded}, another site than this task's; ${OVERRIDE_HINT}`;
  }
  return undefined;
}

/** Old Nodes at the target's address: those of the task's site are replaced, others left alone. */
function judgeByAddress(target: PlannedTarget, index: Index, input: OwnershipInput): Judgement {
  const replaces: string[] = [];
  for (const node of index.byIp.get(target.ip) ?? []) {
    const name = node.metadata.name;
    if (name === target.name) continue;
    const deliberate = input.replaceNodes.has(name);
    if (isControlPlane(node) && !deliberate) {
      return { refused: `${target.ip} is the address of control-plane node ${name}; ${OVERRIDE_HINT}` };
    }
    if (deliberate || inSite(node, input.site)) replaces.push(name);
  }
  return { replaces, sameName: index.byName.has(target.name) };
}

function judge(target: PlannedTarget, index: Index, input: OwnershipInput): Judgement {
  const { proxyNodes } = input.site;
  // The proxy runs the install Job: resetting it would end the install and cut the site off.
  if (proxyNodes.includes(target.name)) return { refused: `${target.name} is a proxy node of this task` };
  const proxy = index.proxyByIp.get(target.ip);
  if (proxy !== undefined)
    return { refused: `${target.ip} is the address of proxy node ${proxy} of this task` };
  const other = input.busy.find(
    (b) =>
      b.task !== input.taskName &&
      b.ip === target.ip &&
      (input.site.mode === 'direct' ? b.proxyNode === '' : proxyNodes.includes(b.proxyNode)),
  );
  if (other) return { refused: `${target.ip} is being installed by task ${other.task} (Job ${other.job})` };
  const sameName = index.byName.get(target.name);
  const refusal = sameName ? sameNameRefusal(target, sameName, input) : undefined;
  if (refusal !== undefined) return { refused: refusal };
  return judgeByAddress(target, index, input);
}

/**
 * Judges every target. Refusals come back as `<field path>: <reason>` lines, in target order, so
 * Plan can refuse the whole task before anything is created or deleted.
 */
export function judgeTargets(
  targets: readonly PlannedTarget[],
  input: OwnershipInput,
): { judgements: Judgement[]; problems: string[] } {
  const index = indexOf(input);
  const judgements = targets.map((t) => judge(t, index, input));
  const problems = judgements.flatMap((j, i) =>
    'refused' in j ? [`${targets[i]!.path}: ${j.refused}`] : [],
  );
  return { judgements, problems };
}
