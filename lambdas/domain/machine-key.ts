/**
 * A machine is its cluster, its site and its address: edge sites behind NAT reuse private subnets,
 * and one machine may be named differently by two tasks, so neither a node name nor an address alone
 * says which machine an install touches. Install Jobs and their Pods carry this key as a label (the
 * cluster is the one they live in), so that "is anything still installing this machine?" is one
 * label-selected list, whichever task, run or node name started it.
 */
import { PRODUCT_DOMAIN, type NodeWork } from './contracts';
import { shortHash } from './job-names';
import type { JobObject } from './kube-types';
import { siteOf } from './ownership';

export const MACHINE_LABEL = `${PRODUCT_DOMAIN}/machine`;

/** The label value of the machine at `ip` in the site of `proxyNode` ('' in direct mode). */
export function machineKey(node: Pick<NodeWork, 'proxyNode' | 'ip'>): string {
  return shortHash(`${siteOf(node.proxyNode)}/${node.ip}`);
}

export function machineSelector(node: Pick<NodeWork, 'proxyNode' | 'ip'>): string {
  return `${MACHINE_LABEL}=${machineKey(node)}`;
}

/** The Job with the machine's label on itself and on its Pods. Pure: the input is not changed. */
export function withMachineLabel(job: JobObject, node: Pick<NodeWork, 'proxyNode' | 'ip'>): JobObject {
  const label = { [MACHINE_LABEL]: machineKey(node) };
  const template = job.spec?.template;
  return {
    ...job,
    metadata: { ...job.metadata, labels: { ...job.metadata.labels, ...label } },
    ...(job.spec && {
      spec: {
        ...job.spec,
        ...(template && {
          template: {
            ...template,
            metadata: { ...template.metadata, labels: { ...template.metadata?.labels, ...label } },
          },
        }),
      },
    }),
  };
}
