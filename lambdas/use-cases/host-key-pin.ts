/**
 * Reads and keeps the machines' pinned host keys (lambdas/domain/host-key-pin.ts) in the cluster:
 * Start install hands the pin to the attempt, Check install records the key an install trusted on
 * first use, or carries the pin over to the Node the machine joined as.
 */
import { TASK_NAMESPACE, type NodeWork } from '../domain/contracts';
import { pinnedHostKey, reportedHostKey, type HostKey } from '../domain/host-key-pin';
import { JOB_NAME_LABEL } from '../domain/job-names';
import type { JobObject, NodeObject, PodObject } from '../domain/kube-types';
import type { Kube } from '../ports';

/** The machine's pin: on its Node, or on a Node it replaces, at its address. */
export async function machinePin(kube: Kube, node: NodeWork): Promise<HostKey | undefined> {
  const names = [node.name, ...(node.replaces ?? []).filter((n) => n !== node.name)];
  const nodes: Array<NodeObject | undefined> = [];
  for (const name of names) nodes.push(await kube.get<NodeObject>({ kind: 'Node', name }));
  return pinnedHostKey(nodes, node.ip);
}

/** The key a succeeded install Job reported trusting on first use (its termination message). */
export async function jobReportedHostKey(kube: Kube, job: JobObject): Promise<HostKey | undefined> {
  const pods = await kube.list<PodObject>({
    kind: 'Pod',
    namespace: TASK_NAMESPACE,
    labelSelector: `${JOB_NAME_LABEL}=${job.metadata.name}`,
  });
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const terminated = status.state?.terminated;
      if (terminated?.exitCode !== 0 || terminated.message === undefined) continue;
      const key = reportedHostKey(terminated.message);
      if (key !== undefined) return key;
    }
  }
  return undefined;
}
