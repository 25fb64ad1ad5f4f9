/**
 * The Lambda behind the "Reinstall Nodes" rule: see lambdas/use-cases/reinstall.ts. A refused event
 * throws, so Lambda's asynchronous retries and then the dead-letter queue keep it for an operator.
 */
import { awsEventDependencies, logger } from '../aws-composition';
import { logged } from '../observability';
import { reinstall } from '../use-cases/reinstall';

export const handler = (event: unknown): Promise<unknown> =>
  logged(logger, 'reinstall', event, (log) => reinstall({ ...awsEventDependencies(), log }, event));
