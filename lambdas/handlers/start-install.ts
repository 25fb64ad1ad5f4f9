/** The startInstall Lambda: see lambdas/use-cases/start-install.ts and docs/architecture.md. */
import { startInstall } from '../use-cases/start-install';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('startInstall', startInstall);
