/** The cleanup Lambda: see lambdas/use-cases/cleanup.ts and docs/architecture.md. */
import { cleanup } from '../use-cases/cleanup';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('cleanup', cleanup);
