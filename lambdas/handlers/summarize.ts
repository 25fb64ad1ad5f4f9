/** The summarize Lambda: see lambdas/use-cases/summarize.ts and docs/architecture.md. */
import { summarize } from '../use-cases/summarize';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('summarize', summarize);
