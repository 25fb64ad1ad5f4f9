/**
 * The "Reinstall Nodes" event: reading its detail, and turning the resolved machines into the
 * NodeTask the workflow runs. Pure: the use-case (use-cases/reinstall.ts) does the lookups.
 *
 * Detail forms (exactly one of nodes, nodeNamesOverride, labelSelector):
 *   {cluster, nodes: [name…],               sshCredential, proxyNode?, taskName?}
 *   {cluster, nodeNamesOverride: {name: ip}, sshCredential, proxyNode?, taskName?}
 *   {cluster, labelSelector: "k=v,…",        sshCredential, proxyNode?, taskName?}  (the schedule's)
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatPath } from './node-task';
import { MAX_MACHINES, NODE_TASK_API_VERSION, NODE_TASK_KIND } from './node-task-schema';
import { randomSuffix, type RandomSource } from './random';
import { ReinstallRefusedError } from '../errors';

export type NodeSelection =
  | { kind: 'nodes'; nodes: string[] }
  | { kind: 'nodeNamesOverride'; nodeNamesOverride: Record<string, string> }
  | { kind: 'labelSelector'; labelSelector: string };

export interface ReinstallRequest {
  cluster: string;
  sshCredential: string;
  proxyNode?: string;
  taskName?: string;
  selection: NodeSelection;
}

const text = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `is empty; expected ${what}` });

const detailSchema = z.strictObject({
  cluster: text('the registered cluster name'),
  sshCredential: text('the name of the SSH credential'),
  proxyNode: text('a proxy node name').optional(),
  taskName: text('a task name').optional(),
  nodes: z
    .array(text('a node name'), { error: 'expected a list of node names' })
    .min(1, { error: 'is empty; expected at least one node name' })
    .max(MAX_MACHINES, { error: `lists more than ${MAX_MACHINES} nodes; split the reinstall` })
    .optional(),
  nodeNamesOverride: z
    .record(z.string(), z.string(), { error: 'expected a map of node name to IP' })
    .optional(),
  labelSelector: text('a label selector like role=edge,zone=a').optional(),
});

/** Reads the event's detail; every problem is one `detail.<field>: <what>` line. */
export function parseReinstallDetail(detail: unknown): ReinstallRequest {
  const parsed = detailSchema.safeParse(detail);
  if (!parsed.success) {
    throw new ReinstallRefusedError(
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((k) => `${formatPath(['detail', ...issue.path, k])}: unknown field`)
          : [`${formatPath(['detail', ...issue.path])}: ${issue.message}`],
      ),
    );
  }
  const d = parsed.data;
  const forms = (['nodes', 'nodeNamesOverride', 'labelSelector'] as const).filter((k) => d[k] !== undefined);
  if (forms.length !== 1) {
    throw new ReinstallRefusedError([
      `detail: set exactly one of nodes, nodeNamesOverride or labelSelector (got ${forms.length === 0 ? 'none' : forms.join(', ')})`,
    ]);
  }
  const selection: NodeSelection =
    d.nodes !== undefined
      ? { kind: 'nodes', nodes: [...new Set(d.nodes)] }
      : d.nodeNamesOverride !== undefined
        ? { kind: 'nodeNamesOverride', nodeNamesOverride: d.nodeNamesOverride }
        : { kind: 'labelSelector', labelSelector: d.labelSelector! };
  return {
    cluster: d.cluster,
    sshCredential: d.sshCredential,
    ...(d.proxyNode !== undefined ? { proxyNode: d.proxyNode } : {}),
    ...(d.taskName !== undefined ? { taskName: d.taskName } : {}),
    selection,
  };
}

/**
 * Random bytes derived from the event's id. EventBridge and Lambda deliver an event at least once;
 * the same event then gives the same task and execution names, so StartExecution meets its own
 * execution instead of starting a second reinstall of the same machines.
 */
export function eventSeededRandom(eventId: string): RandomSource {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let filled = 0; filled < n; counter++) {
      const block = createHash('sha256').update(`${eventId}/${counter}`).digest();
      const take = Math.min(block.length, n - filled);
      out.set(block.subarray(0, take), filled);
      filled += take;
    }
    return out;
  };
}

export function reinstallTaskName(random?: RandomSource): string {
  return `reinstall-${randomSuffix(random)}`;
}

/** The NodeTask of a reinstall: the machines by name and address, through one proxy node. */
export function reinstallNodeTask(input: {
  name: string;
  cluster: string;
  sshCredential: string;
  proxyNode: string;
  machines: Record<string, string>;
}): Record<string, unknown> {
  return {
    apiVersion: NODE_TASK_API_VERSION,
    kind: NODE_TASK_KIND,
    metadata: { name: input.name },
    spec: {
      cluster: input.cluster,
      nodeNamesOverride: input.machines,
      sshCredential: input.sshCredential,
      proxyNode: input.proxyNode,
    },
  };
}
