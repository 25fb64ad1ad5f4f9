/**
 * Installs the NodeTask CRD in a cluster (`penetrator cluster crd --apply`, the sandbox): created
 * when absent; written over the original's (or an older one of the product's) when present, keeping
 * the resource and so every NodeTask already stored; refused with the reason when that cannot be
 * done without harm. Waits, bounded, until the apiserver serves the resource.
 */
import {
  NODE_TASK_CRD_NAME,
  mergedCrd,
  nodeTaskCrd,
  type CustomResourceDefinitionObject,
} from '../domain/node-task-crd';
import { CrdRefusedError } from '../errors';
import type { Kube } from '../ports';

export type CrdOutcome = 'created' | 'updated' | 'unchanged';

const ESTABLISH_WAIT_MS = 30_000;
const ESTABLISH_POLL_MS = 200;
const MAX_CONFLICT_TRIES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function established(crd: CustomResourceDefinitionObject | undefined): boolean {
  return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
}

async function write(kube: Kube): Promise<CrdOutcome> {
  for (let attempt = 0; attempt < MAX_CONFLICT_TRIES; attempt++) {
    const created = await kube.create(nodeTaskCrd());
    if (created.outcome === 'created') return 'created';
    const merged = mergedCrd(created.object);
    if (!merged.ok) throw new CrdRefusedError(merged.problems);
    const replaced = await kube.replace(merged.crd);
    if (replaced !== 'conflict' && replaced !== 'absent') {
      // The apiserver writes nothing for a replace that changes nothing: the version tells.
      const before = created.object.metadata.resourceVersion;
      return replaced.metadata.resourceVersion === before ? 'unchanged' : 'updated';
    }
    // Someone else wrote it in between: read it again and merge with what is there now.
  }
  throw new CrdRefusedError([`CRD ${NODE_TASK_CRD_NAME} kept changing while it was written; try again`]);
}

export async function installNodeTaskCrd(kube: Kube): Promise<CrdOutcome> {
  const outcome = await write(kube);
  const deadline = Date.now() + ESTABLISH_WAIT_MS;
  for (;;) {
    const crd = await kube.get<CustomResourceDefinitionObject>({
      kind: 'CustomResourceDefinition',
      name: NODE_TASK_CRD_NAME,
    });
    if (established(crd)) return outcome;
    if (Date.now() > deadline) {
      throw new Error(
        `CRD ${NODE_TASK_CRD_NAME} was written but not established within ${ESTABLISH_WAIT_MS} ms`,
      );
    }
    await sleep(ESTABLISH_POLL_MS);
  }
}
