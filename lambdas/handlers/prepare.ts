/** The prepare Lambda: see lambdas/use-cases/prepare.ts and docs/architecture.md. */
import { prepare } from '../use-cases/prepare';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('prepare', prepare);
