/** The startInstall Lambda: see lambdas/use-cases/start-install.ts and docs/architecture.md. */
import { connectSsh } from '../adapters/ssh';
import { startInstall } from '../use-cases/start-install';
import { lambdaHandler } from './lambda-runtime';

// Direct mode joins the machine from here; the only workflow Lambda that carries ssh2.
export const handler = lambdaHandler('startInstall', startInstall, { ssh: connectSsh });
