/**
 * The Lambda behind the execution-status-change rule (ABORTED, TIMED_OUT, FAILED): see
 * lambdas/use-cases/execution-ended.ts.
 */
import { logger } from './lambda-runtime';
import { logged } from '../observability';
import { executionEnded } from '../use-cases/execution-ended';
import { eventDependencies } from './event-runtime';

export const handler = (event: unknown): Promise<unknown> =>
  logged(logger, 'executionEnded', event, (log) => executionEnded({ ...eventDependencies(), log }, event));
