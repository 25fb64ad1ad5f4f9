/** The prepare Lambda: see lambdas/use-cases/prepare.ts and docs/architecture.md. */
import { prepare } from '../use-cases/prepare';
import { s3ObjectStoreFromEnv } from '../adapters/s3-objects';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('prepare', prepare, {
  objectStore: () => s3ObjectStoreFromEnv(process.env),
});
