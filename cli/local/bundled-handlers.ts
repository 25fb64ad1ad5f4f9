/**
 * The workflow's handlers for local runs and the integration suites: each Lambda's *bundle*, from
 * the synthesized assembly, in warm processes of the runtime the stack deploys (lambda-container.ts).
 * The bundles select the local composition (lambdas/local-composition.ts) from the variables set
 * here: clusters as kubeconfig files in a private directory, the credential file's path, settings.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LOCAL_CLUSTER_NAME } from '../../lambdas/adapters/file-clusters';
import { type LambdaName, LambdaNames, type WorkflowHandler } from '../../lambdas/domain/contracts';
import { LocalEnv } from '../../lambdas/local-composition';
import type { LocalDependencies } from '../../lambdas/local-handlers';
import { settingsToEnv } from '../../lambdas/settings';
import { stateLambda } from '../../statemachine/state-names';
import { type BundledFunction, type SynthesizedAssembly, workflowFunctions } from './assembly';
import { LambdaFunctionPool } from './lambda-container';
import { lambdaNode } from './lambda-node';

/** What makes a function's process Lambda-like without any AWS in reach. */
export function lambdaProcessEnv(
  fn: BundledFunction,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    TZ: ':UTC',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    ...fn.environment,
    LAMBDA_TASK_ROOT: fn.assetDir,
    _HANDLER: fn.handler,
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    // Credentials that sign nothing real, every endpoint on a closed loopback port, no instance
    // metadata: a call that should not happen fails at once instead of leaving the machine.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

export interface BundledHandlers {
  handlers: Record<LambdaName, WorkflowHandler>;
  /** The function and bundle each Lambda name runs. */
  artifacts: Record<LambdaName, BundledFunction>;
  /** `v24.22.3`: the Node.js running them. */
  nodeVersion: string;
  /** One line per Task state: which artifact it runs. */
  describe: (assembly: Pick<SynthesizedAssembly, 'outdir'>) => string[];
  /** Stops every process and removes the kubeconfig files. */
  close: () => void;
}

export interface BundledOptions {
  /** Receives the handlers' log lines. Default: dropped (the CLI's own output stays readable). */
  onLog?: (line: string) => void;
  /** Warm processes per function at most. Default 2. */
  maxProcesses?: number;
  /** Receives each invocation's duration inside its process, by Lambda (the benchmark's billing). */
  onDuration?: (name: LambdaName, ms: number) => void;
}

/** Writes each cluster's kubeconfig to a private directory (0700, files 0600). */
function writeClusters(deps: LocalDependencies): string {
  const dir = mkdtempSync(join(tmpdir(), 'penetrator-clusters-'));
  chmodSync(dir, 0o700);
  const clusters = { ...deps.moreClusters, [deps.clusterName ?? LOCAL_CLUSTER_NAME]: deps.kubeconfigYaml };
  for (const [name, yaml] of Object.entries(clusters)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cluster name ${JSON.stringify(name)}: expected letters, digits, '.', '_' or '-'`);
    }
    writeFileSync(join(dir, name), yaml, { mode: 0o600 });
  }
  return dir;
}

/** The local wiring's variables: the same meaning as createLocalHandlers' options. */
function localEnv(deps: LocalDependencies, clustersDir: string): Record<string, string> {
  if (deps.installScriptPath || deps.remoteScriptPath) {
    throw new Error(
      'a bundle runs the installer scripts inlined at synth; other script paths need --from-sources',
    );
  }
  return {
    [LocalEnv.clusters]: clustersDir,
    [LocalEnv.credentials]: deps.credentialPath,
    ...(deps.objectsPath ? { [LocalEnv.objects]: deps.objectsPath } : {}),
    // Tasks that name no cluster run on the first one, as in-process local runs do.
    ...settingsToEnv({ defaultCluster: deps.clusterName ?? LOCAL_CLUSTER_NAME, ...deps.settings }),
    POWERTOOLS_LOG_LEVEL: deps.logLevel ?? 'SILENT',
    ...(process.env.PENETRATOR_METRICS ? { PENETRATOR_METRICS: process.env.PENETRATOR_METRICS } : {}),
  };
}

export function createBundledHandlers(
  assembly: Pick<SynthesizedAssembly, 'definition' | 'functions'>,
  deps: LocalDependencies,
  options: BundledOptions = {},
): BundledHandlers {
  const artifacts = workflowFunctions(assembly.definition, assembly.functions);
  const node = lambdaNode(artifacts.plan.runtime);
  for (const fn of Object.values(artifacts)) lambdaNode(fn.runtime);
  const clustersDir = writeClusters(deps);
  const local = localEnv(deps, clustersDir);
  const pools = {} as Record<LambdaName, LambdaFunctionPool>;
  const handlers = {} as Record<LambdaName, WorkflowHandler>;
  for (const name of LambdaNames) {
    const fn = artifacts[name];
    pools[name] = new LambdaFunctionPool({
      name: fn.logicalId,
      assetDir: fn.assetDir,
      handler: fn.handler,
      environment: lambdaProcessEnv(fn, local),
      timeoutSeconds: fn.timeoutSeconds,
      nodeBinary: node.binary,
      ...(options.maxProcesses ? { maxProcesses: options.maxProcesses } : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
      ...(options.onDuration ? { onDuration: (ms: number) => options.onDuration?.(name, ms) } : {}),
    });
    const pool = pools[name];
    handlers[name] = (payload) => pool.invoke(payload);
  }
  return {
    handlers,
    artifacts,
    nodeVersion: node.version,
    describe: ({ outdir }) =>
      Object.entries(stateLambda).map(([state, name]) => {
        const fn = artifacts[name];
        const entry = relative(
          outdir,
          join(fn.assetDir, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.mjs`),
        );
        return `${state} → ${fn.logicalId} ${entry} (${fn.runtime}, Node.js ${node.version})`;
      }),
    close: () => {
      for (const pool of Object.values(pools)) pool.close();
      rmSync(clustersDir, { recursive: true, force: true });
    },
  };
}
