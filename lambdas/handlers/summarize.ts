/** The summarize Lambda: see lambdas/use-cases/summarize.ts and docs/architecture.md. */
import { summarize } from '../use-cases/summarize';
import { s3ObjectStoreFromEnv } from '../adapters/s3-objects';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('summarize', summarize, {
  objectStore: () => s3ObjectStoreFromEnv(process.env),
});
