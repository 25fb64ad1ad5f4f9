import { distributedMapStore } from '../../cli/local/distributed-map';
import type { NodeResult, NodeWork, PlanOutput } from '../../lambdas/domain/contracts';
import type { MapResultRef } from '../../lambdas/domain/work-objects';
import type { ObjectStore } from '../../lambdas/ports';
import { readSkipped, readWorkList } from '../../lambdas/use-cases/work-store';

/** The work list and the skipped machines Plan wrote to the object store. */
export async function plannedLists(
  objects: ObjectStore,
  planned: PlanOutput,
): Promise<{ nodes: NodeWork[]; skipped: Array<{ name: string; ip: string }> }> {
  const [nodes, skipped] = await Promise.all([
    readWorkList({ objects }, planned.work),
    readSkipped({ objects }, planned.work),
  ]);
  return { nodes, skipped };
}

/**
 * Writes node results as the Distributed Map's ResultWriter does (the local runner's own writer),
 * each as a succeeded iteration's output, and returns the Map's result for Summarize.
 */
export function writeMapResults(
  objects: ObjectStore,
  planned: PlanOutput,
  results: readonly NodeResult[],
): Promise<MapResultRef> {
  return distributedMapStore(objects).writeResults(
    {
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: 'local', Prefix: planned.work.resultsPrefix },
    },
    { ToleratedFailurePercentage: 100 },
    results.map((output, index) => ({ index, input: { node: output }, status: 'SUCCEEDED', output })),
    { Execution: { Id: planned.task.executionId } },
  );
}
