/**
 * The local composition: the workflow's use-cases wired to a kubeconfig per cluster and a credential
 * file instead of Secrets Manager, with no event bus and no metrics unless asked. One home for both
 * local doors: the handlers called in-process from the sources (local-handlers.ts), and the deployed
 * bundles run by the local runner, which select it through the variables below (lambda-runtime.ts).
 */
import { FileCredentials } from './adapters/file-credentials';
import { FileObjectStore } from './adapters/file-objects';
import { KubeconfigDirectory } from './adapters/file-clusters';
import { loadInstallerScripts } from './adapters/install-script';
import { cachedKubeProvider } from './adapters/kube-cache';
import { localMetrics } from './observability';
import type { ClusterDirectory, Dependencies } from './ports';
import { settingsFromEnv, type RuntimeSettings } from './settings';

/**
 * Set by the local runner on each bundled Lambda's process, never by the stack. Together with the
 * settings variables (settings.ts, which the runner may override) they are the whole local wiring.
 */
export const LocalEnv = {
  /** A directory holding one kubeconfig file per cluster, the file named after the cluster. */
  clusters: 'PENETRATOR_LOCAL_CLUSTERS',
  /** A credential file, or a directory of them by name (adapters/file-credentials.ts). */
  credentials: 'PENETRATOR_LOCAL_CREDENTIALS',
  /** The directory of the run's work objects, shared with the runner's Distributed Map. */
  objects: 'PENETRATOR_LOCAL_OBJECTS',
} as const;

export interface LocalParts {
  settings: RuntimeSettings;
  clusters: ClusterDirectory;
  credentialPath: string;
  installScriptPath?: string;
  remoteScriptPath?: string;
  /** The run's object store directory (work list, results); without it Plan cannot run. */
  objectsPath?: string;
}

/** Every dependency but the log and SSH, which each door adds. */
export function composeLocal(parts: LocalParts): Omit<Dependencies, 'log'> {
  return {
    settings: parts.settings,
    clusters: parts.clusters,
    credentials: new FileCredentials(parts.credentialPath),
    kube: cachedKubeProvider(parts.clusters),
    installScript: () => loadInstallerScripts(parts.installScriptPath, parts.remoteScriptPath),
    // No event bus locally: completion is the run's own result. Metrics only with PENETRATOR_METRICS=1.
    metrics: localMetrics(),
    ...(parts.objectsPath ? { objects: new FileObjectStore(parts.objectsPath) } : {}),
  };
}

/**
 * The local composition the runner asked for through the environment, or undefined when it did not
 * (AWS). Refused inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is Lambda's own), so a stray variable on
 * a deployed function can never swap its Secrets Manager stores for files.
 */
export function localCompositionFromEnv(env: NodeJS.ProcessEnv): Omit<Dependencies, 'log'> | undefined {
  const clusters = env[LocalEnv.clusters];
  const credentials = env[LocalEnv.credentials];
  if (!clusters && !credentials) return undefined;
  if (env.AWS_LAMBDA_RUNTIME_API) {
    throw new Error(
      `${LocalEnv.clusters} and ${LocalEnv.credentials} are for local runs; refused inside AWS Lambda`,
    );
  }
  if (!clusters || !credentials) {
    throw new Error(`a local run sets both ${LocalEnv.clusters} and ${LocalEnv.credentials}; one is missing`);
  }
  return composeLocal({
    settings: settingsFromEnv(env),
    clusters: new KubeconfigDirectory(clusters),
    // A bundle runs the installer scripts inlined at synth, as in AWS.
    credentialPath: credentials,
    ...(env[LocalEnv.objects] ? { objectsPath: env[LocalEnv.objects] } : {}),
  });
}
