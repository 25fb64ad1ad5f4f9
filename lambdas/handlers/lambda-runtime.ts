/**
 * What the seven handler files share: dependencies built once per Lambda container from its
 * environment (the Secrets Manager client, kube clients cached per cluster), and a wrapper that logs
 * each call with its task keys and rethrows the typed errors unchanged, so Step Functions matches
 * their names. SSH is not among them: only the handler that needs it (start-install) brings it, so
 * ssh2 is bundled into that one Lambda alone.
 */
import type { Context } from 'aws-lambda';
import type { LambdaName } from '../domain/contracts';
import { loadInstallerScripts } from '../adapters/install-script';
import { cachedKubeProvider } from '../adapters/kube-cache';
import { EventBridgePublisher } from '../adapters/event-bus';
import { SecretsManagerClusters, SecretsManagerCredentials } from '../adapters/secrets';
import { EVENT_BUS_ENV } from '../events/product-events';
import { localCompositionFromEnv } from '../local-composition';
import { asLog, createLogger, createMetrics, logged } from '../observability';
import type { Dependencies, ObjectStore } from '../ports';
import { settingsFromEnv } from '../settings';
import type { UseCase } from '../use-cases';

export const logger = createLogger();

let dependencies: Dependencies | undefined;

/**
 * Built on first use, not at import: a wrong setting then fails the call with its message, visibly.
 * In AWS: Secrets Manager, EventBridge, Powertools metrics. When the local runner runs this bundle it
 * sets the local composition's variables (local-composition.ts, refused inside Lambda) and the same
 * bundle gets file stores instead.
 */
export function awsDependencies(): Dependencies {
  if (dependencies) return dependencies;
  const local = localCompositionFromEnv(process.env);
  if (local) {
    dependencies = { ...local, log: asLog(logger) };
    return dependencies;
  }
  const settings = settingsFromEnv();
  const clusters = new SecretsManagerClusters(settings.secretPrefix);
  dependencies = {
    settings,
    clusters,
    credentials: new SecretsManagerCredentials(settings.secretPrefix),
    kube: cachedKubeProvider(clusters),
    installScript: () => loadInstallerScripts(),
    log: asLog(logger),
    metrics: createMetrics(),
  };
  // Only the summarize Lambda is given a bus (and the right to put events on it).
  const bus = process.env[EVENT_BUS_ENV];
  if (bus) dependencies.events = new EventBridgePublisher(bus);
  return dependencies;
}

/** Forgets the built dependencies (tests change the environment between cases). */
export function resetAwsDependencies(): void {
  dependencies = undefined;
}

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
