/**
 * What the seven workflow handler files share: a wrapper that builds the dependencies (in the
 * composition root, aws-composition.ts), logs each call with its task keys and rethrows the typed
 * errors unchanged, so Step Functions matches their names.
 */
import type { Context } from 'aws-lambda';
import { awsDependencies, logger } from '../aws-composition';
import type { LambdaName } from '../domain/contracts';
import { logged } from '../observability';
import type { Dependencies, ObjectStore } from '../ports';
import type { UseCase } from '../use-cases';

/**
 * What only some handlers need on top of the shared dependencies: start-install's SSH, and the
 * object store of the handlers that read or write the work list (built once, and only in AWS: a
 * local run's composition brings its own), so the S3 client is bundled into those Lambdas alone.
 */
export interface HandlerExtras extends Partial<Pick<Dependencies, 'ssh'>> {
  objectStore?: () => ObjectStore | undefined;
}

export function lambdaHandler(
  name: LambdaName,
  useCase: UseCase,
  handlerExtras: HandlerExtras = {},
): (event: unknown, context?: Context) => Promise<unknown> {
  const { objectStore, ...extra } = handlerExtras;
  let objects: ObjectStore | undefined;
  return (event, context) => {
    // Request id, cold start and function name on every line of this invocation.
    if (context) logger.addContext(context);
    return logged(logger, name, event, async (log) => {
      const deps = awsDependencies();
      objects ??= deps.objects ?? objectStore?.();
      // Direct mode installs within the invocation and must stop before Lambda stops it.
      const remainingTimeMs = context ? () => context.getRemainingTimeInMillis() : undefined;
      return useCase(
        {
          ...deps,
          ...extra,
          log,
          ...(objects ? { objects } : {}),
          ...(remainingTimeMs ? { remainingTimeMs } : {}),
        },
        event,
      );
    });
  };
}
