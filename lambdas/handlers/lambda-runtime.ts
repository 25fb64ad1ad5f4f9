/**
 * What the seven workflow handler files share: a wrapper that builds the dependencies (in the
 * composition root, aws-composition.ts), logs each call with its task keys and rethrows the typed
 * errors unchanged, so Step Functions matches their names.
 */
import type { Context } from 'aws-lambda';
import { awsDependencies, logger } from '../aws-composition';
import type { LambdaName } from '../domain/contracts';
import { logged } from '../observability';
import type { Dependencies } from '../ports';
import type { UseCase } from '../use-cases';

/** `extra`: what only this handler needs on top of the shared dependencies (start-install's SSH). */
export function lambdaHandler(
  name: LambdaName,
  useCase: UseCase,
  extra: Partial<Pick<Dependencies, 'ssh'>> = {},
): (event: unknown, context?: Context) => Promise<unknown> {
  return (event, context) => {
    // Request id, cold start and function name on every line of this invocation.
    if (context) logger.addContext(context);
    return logged(logger, name, event, async (log) => {
      const deps = awsDependencies();
      // Direct mode installs within the invocation and must stop before Lambda stops it.
      const remainingTimeMs = context ? () => context.getRemainingTimeInMillis() : undefined;
      return useCase({ ...deps, ...extra, log, ...(remainingTimeMs ? { remainingTimeMs } : {}) }, event);
    });
  };
}
