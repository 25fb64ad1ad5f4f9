/**
 * The Lambda behind the execution-status-change rule (ABORTED, TIMED_OUT, FAILED): see
 * lambdas/use-cases/execution-ended.ts.
 */
import { awsEventDependencies, logger } from '../aws-composition';
import { logged } from '../observability';
import { executionEnded } from '../use-cases/execution-ended';

export const handler = (event: unknown): Promise<unknown> =>
  logged(logger, 'executionEnded', event, (log) => executionEnded({ ...awsEventDependencies(), log }, event));
