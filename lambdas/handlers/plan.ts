/** The plan Lambda: see lambdas/use-cases/plan.ts and docs/architecture.md. */
import { plan } from '../use-cases/plan';
import { s3ObjectStoreFromEnv } from '../adapters/s3-objects';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('plan', plan, { objectStore: () => s3ObjectStoreFromEnv(process.env) });
