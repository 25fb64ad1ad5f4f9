/** The checkInstall Lambda: see lambdas/use-cases/check-install.ts and docs/architecture.md. */
import { checkInstall } from '../use-cases/check-install';
import { lambdaHandler } from './lambda-runtime';

export const handler = lambdaHandler('checkInstall', checkInstall);
