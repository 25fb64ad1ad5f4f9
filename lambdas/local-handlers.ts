/**
 * The workflow's handlers called in-process from the TypeScript sources: the fast developer option
 * (`penetrator run --from-sources`) and unit-level tests. Local runs and the integration suites run
 * the deployed bundles instead (cli/local/bundled-handlers.ts); both use the local composition.
 * No AWS is involved.
 */
import type { LambdaName, WorkflowHandler } from './domain/contracts';
import { LambdaNames } from './domain/contracts';
import { LOCAL_CLUSTER_NAME, NamedClusterDirectory, SingleClusterDirectory } from './adapters/file-clusters';
import { connectSsh } from './adapters/ssh';
import { composeLocal } from './local-composition';
import { createLogger, logged, type LogLevel } from './observability';
import type { Dependencies } from './ports';
import { resolveSettings, type RuntimeSettings } from './settings';
import { useCases } from './use-cases';

export interface LocalDependencies {
  /** The target cluster's kubeconfig (never logged). */
  kubeconfigYaml: string;
  /** Name the cluster is registered under. Default "local". */
  clusterName?: string;
  /**
   * More clusters by name (kubeconfig YAML each), served beside the first one as one deployment
   * serves every registered cluster; tasks choose theirs by `cluster` in the input or the spec.
   */
  moreClusters?: Record<string, string>;
  /** A credential file (YAML/JSON with passwd or sshkey, or a PEM private key) or a directory of them by name. */
  credentialPath: string;
  settings?: Partial<RuntimeSettings>;
  /** Handler log lines (JSON on stdout). Default SILENT, so a CLI's own output stays readable. */
  logLevel?: LogLevel;
  /** The install script's path. Default: installer/install.sh of this repository. */
  installScriptPath?: string;
  /** The remote part's path. Default: installer/remote.sh of this repository. */
  remoteScriptPath?: string;
  /** The run's object store directory, the one the runner's Distributed Map reads and writes. */
  objectsPath?: string;
}

/** The local composition of a door's or a handler's dependencies, without the log. */
export function localDependencies(deps: LocalDependencies): Omit<Dependencies, 'log'> {
  const clusterName = deps.clusterName ?? LOCAL_CLUSTER_NAME;
  // Tasks that name no cluster run on this one; a task naming another cluster is refused (ClusterNotFound).
  const settings = resolveSettings({ defaultCluster: clusterName, ...deps.settings });
  const clusters = deps.moreClusters
    ? new NamedClusterDirectory({ ...deps.moreClusters, [clusterName]: deps.kubeconfigYaml })
    : new SingleClusterDirectory(deps.kubeconfigYaml, clusterName);
  return {
    ...composeLocal({
      settings,
      clusters,
      credentialPath: deps.credentialPath,
      ...(deps.installScriptPath ? { installScriptPath: deps.installScriptPath } : {}),
      ...(deps.remoteScriptPath ? { remoteScriptPath: deps.remoteScriptPath } : {}),
      ...(deps.objectsPath ? { objectsPath: deps.objectsPath } : {}),
    }),
    // Direct mode runs SSH from this machine; nothing limits a local call's time but the attempt's deadline.
    ssh: connectSsh,
  };
}

export function createLocalHandlers(deps: LocalDependencies): Record<LambdaName, WorkflowHandler> {
  const logger = createLogger(deps.logLevel ?? 'SILENT');
  const base = localDependencies(deps);
  const handlers = {} as Record<LambdaName, WorkflowHandler>;
  for (const name of LambdaNames) {
    const useCase = useCases[name];
    handlers[name] = (payload) => logged(logger, name, payload, (log) => useCase({ ...base, log }, payload));
  }
  return handlers;
}
