/**
 * The bounds check every door and Plan share: a task may use its credential only for the clusters
 * and address ranges the credential names, and direct mode may reach only the ranges its cluster
 * names (domain/credential-bounds.ts). Reads tags, never a credential's value.
 */
import { boundsProblems } from '../domain/credential-bounds';
import { formatPath, normaliseIp, type NodeTask } from '../domain/node-task';
import { resolveSpec } from '../domain/spec-defaults';
import type { Dependencies } from '../ports';

/** Each target address with the field path that names it. */
export function targetsWithPaths(task: NodeTask): Array<{ ip: string; path: string }> {
  const machines = (task.spec.targetMachines ?? []).map((ip, i) => ({
    ip: normaliseIp(ip),
    path: formatPath(['spec', 'targetMachines', i]),
  }));
  const overrides = Object.entries(task.spec.nodeNamesOverride ?? {}).map(([name, ip]) => ({
    ip: normaliseIp(ip),
    path: formatPath(['spec', 'nodeNamesOverride', name]),
  }));
  return [...machines, ...overrides];
}

/** The ways the task leaves the bounds of its credential or its cluster; empty when it stays inside. */
export async function outOfBounds(
  deps: Pick<Dependencies, 'credentials' | 'clusters'>,
  task: NodeTask,
  cluster: string,
): Promise<string[]> {
  const spec = resolveSpec(task);
  const bounds = await deps.credentials.bounds(spec.credential);
  const directRanges = spec.mode === 'direct' ? await deps.clusters.directRanges(cluster) : 'unbounded';
  return boundsProblems({
    credential: spec.credential,
    bounds,
    cluster,
    mode: spec.mode,
    targets: targetsWithPaths(task),
    directRanges,
  });
}
