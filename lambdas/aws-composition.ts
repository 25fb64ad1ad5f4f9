/**
 * The composition root in AWS: the only place that builds the SDK clients and wires them to the
 * ports, for every door. Each builder runs on first use, not at import, so a wrong setting fails
 * the call with its message, visibly. The local runs have theirs in local-composition.ts; a bundle
 * the local runner starts selects it through the environment (refused inside Lambda).
 *
 * SSH is not wired here: only the handler that needs it (start-install) brings it, so ssh2 is
 * bundled into that one Lambda alone.
 */
import { EventBridgePublisher } from './adapters/event-bus';
import { loadInstallerScripts } from './adapters/install-script';
import { cachedKubeProvider } from './adapters/kube-cache';
import {
  SecretsManagerClusters,
  SecretsManagerCredentials,
  SecretsManagerWriter,
  type SecretReaders,
  secretsManagerClient,
} from './adapters/secrets';
import { StepFunctionsWorkflow } from './adapters/sfn';
import { SECRETS_KEY_ID_ENV, SecretReaderEnv, STATE_MACHINE_ARN_ENV } from './api/environment';
import { readerRoles } from './domain/secret-policy';
import { EVENT_BUS_ENV } from './domain/product-events';
import { localCompositionFromEnv } from './local-composition';
import { asLog, createLogger, createMetrics } from './observability';
import type { ApiDependencies, Dependencies, Workflow } from './ports';
import { settingsFromEnv } from './settings';

export { STATE_MACHINE_ARN_ENV } from './api/environment';

export const logger = createLogger();

let dependencies: Dependencies | undefined;
let apiDependencies: ApiDependencies | undefined;
let eventWorkflow: Workflow | undefined;

/**
 * What every Lambda uses: Secrets Manager, kube clients cached per cluster, EventBridge where the
 * stack names a bus, Powertools metrics. When the local runner runs the bundle it sets the local
 * composition's variables and the same bundle gets file stores instead.
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
  apiDependencies = undefined;
  eventWorkflow = undefined;
}

function unavailableWorkflow(): Workflow {
  const fail = () =>
    Promise.reject(
      new Error(`${STATE_MACHINE_ARN_ENV} is not set: this Lambda does not serve the tasks routes`),
    );
  return { start: fail, list: fail, describe: fail, stop: fail };
}

/** The reader roles the stack set for each kind of secret this Lambda writes. */
function secretReaders(env: NodeJS.ProcessEnv): SecretReaders {
  const clusters = readerRoles(env[SecretReaderEnv.clusters]);
  const credentials = readerRoles(env[SecretReaderEnv.credentials]);
  return { ...(clusters ? { clusters } : {}), ...(credentials ? { credentials } : {}) };
}

/**
 * The API Lambdas: the shared dependencies plus Step Functions (tasks routes only: the others are
 * given no state machine) and the secret writer, which names the product's key when the stack sets it.
 */
export function awsApiDependencies(env: NodeJS.ProcessEnv = process.env): ApiDependencies {
  if (apiDependencies) return apiDependencies;
  const base = awsDependencies();
  const arn = env[STATE_MACHINE_ARN_ENV];
  apiDependencies = {
    ...base,
    workflow: arn ? new StepFunctionsWorkflow(arn) : unavailableWorkflow(),
    secrets: new SecretsManagerWriter(
      base.settings.secretPrefix,
      secretsManagerClient,
      env[SECRETS_KEY_ID_ENV] || undefined,
      secretReaders(env),
    ),
  };
  return apiDependencies;
}

/** The two event Lambdas: the shared dependencies plus the state machine, which they cannot do without. */
export function awsEventDependencies(
  env: NodeJS.ProcessEnv = process.env,
): Dependencies & { workflow: Workflow } {
  if (!eventWorkflow) {
    const arn = env[STATE_MACHINE_ARN_ENV];
    if (!arn) throw new Error(`${STATE_MACHINE_ARN_ENV} is not set: the stack sets it on the event Lambdas`);
    eventWorkflow = new StepFunctionsWorkflow(arn);
  }
  return { ...awsDependencies(), workflow: eventWorkflow };
}
