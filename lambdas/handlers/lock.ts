/** The lock Lambda: see lambdas/use-cases/lock.ts and docs/architecture.md. */
import { lock } from '../use-cases/lock';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('lock', lock);
