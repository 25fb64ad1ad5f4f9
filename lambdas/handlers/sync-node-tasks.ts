/**
 * The Lambda behind the sync schedule: see lambdas/use-cases/sync-node-tasks.ts. The scheduled
 * event carries nothing the sync needs; each run looks at every registered cluster afresh.
 */
import { awsEventDependencies, logger } from '../aws-composition';
import { logged } from '../observability';
import { checkScheduledEvent, syncNodeTasks } from '../use-cases/sync-node-tasks';

export const handler = (event: unknown): Promise<unknown> =>
  logged(logger, 'syncNodeTasks', event, (log) => {
    checkScheduledEvent(event);
    return syncNodeTasks({ ...awsEventDependencies(), log });
  });
