/**
 * `penetrator sync --kubeconfig PATH --credential PATH [--watch] [--interval 10s]`: the sync the
 * deployment runs on a schedule (lambdas/use-cases/sync-node-tasks.ts), run locally: NodeTasks
 * applied with `kubectl apply -f` are started through the same start path as the API, each on the
 * deployed workflow definition run locally as `penetrator run` runs it; a NodeTask deleted while its
 * run goes on has the run stopped and cleaned up before its finalizer goes. Without `--watch`, one
 * pass, then the command waits for the runs it started; with it, a pass every interval until
 * interrupted.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_DOCUMENT_BYTES } from '../../lambdas/domain/node-task';
import { taskOfExecution } from '../../lambdas/domain/execution-names';
import { extractReason } from '../../lambdas/domain/summary';
import type { ExecutionInfo, Log } from '../../lambdas/ports';
import type { ClusterSync, SyncResult } from '../../lambdas/use-cases/sync-node-tasks';
import type { LocalDependencies } from '../../lambdas/local-handlers';
import { type LocalRuntime, LocalRuntimes, type RuntimeChoice } from '../local/local-runtime';
import type { WorkflowRunResult } from '../local/run-workflow';
import { EXIT_FAILURE } from '../output';
import { localDependencies, readText, type RunOptions, withLocalRunOptions } from './run';

export interface SyncOptions extends Omit<RunOptions, 'file' | 'output'> {
  watch?: boolean;
  /** Milliseconds between two passes. */
  interval?: number;
}

export interface SyncCommandDependencies {
  openRuntime: (deps: LocalDependencies, choice: RuntimeChoice) => Promise<LocalRuntime>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

const DEFAULT_INTERVAL_MS = 10_000;
const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 3_600_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

const runtimes = new LocalRuntimes();

const defaultDependencies: SyncCommandDependencies = {
  openRuntime: (deps, choice) => runtimes.open(deps, choice),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** `10s`, `2m`, `500ms`, or a number of seconds. */
export function parseInterval(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? 's']! : Number.NaN;
  if (!(ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS)) {
    throw new InvalidArgumentError(
      `--interval takes a duration from 1s to 60m, like 10s or 2m; received "${value}"`,
    );
  }
  return ms;
}

export function register(program: Command): void {
  const command = program
    .command('sync')
    .description(
      'start the NodeTasks applied with kubectl in a cluster, locally through the deployed workflow definition; stop the runs of deleted ones',
    )
    .requiredOption('--kubeconfig <path>', "the target cluster's kubeconfig")
    .requiredOption(
      '--credential <path>',
      'SSH credential file (passwd/sshkey YAML or a PEM key), or a directory of them by name',
    )
    .option('--cluster <name>', 'name the cluster is registered under for this run', 'local')
    .option('--watch', 'keep syncing every interval until interrupted')
    .option('--interval <duration>', 'time between two passes with --watch (1s to 60m)', parseInterval);
  withLocalRunOptions(command)
    .option(
      '--from-sources',
      'run the handlers from the TypeScript sources in-process instead of the bundles',
    )
    .action(async (options: SyncOptions) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        process.exitCode = await syncLocally(options, { ...defaultDependencies, signal: controller.signal });
      } finally {
        process.off('SIGINT', stop);
        await runtimes.dispose();
      }
    });
}

/** Warnings and errors of the sync itself, one line each; never a value, only names. */
function lineLog(stderr: (text: string) => void): Log {
  const line = (level: string) => (message: string, extra?: Record<string, unknown>) => {
    const detail = [extra?.cluster, extra?.errorMessage].filter((v): v is string => typeof v === 'string');
    stderr(`sync: ${level}: ${[message, ...detail].join(': ')}\n`);
  };
  const quiet = () => undefined;
  return { debug: quiet, info: quiet, warn: line('warning'), error: line('error') };
}

function passLines(synced: ClusterSync): string[] {
  const lines = Object.entries(synced.started).map(
    ([name, execution]) => `nodetask/${name} started (execution ${execution})`,
  );
  for (const name of synced.released) lines.push(`nodetask/${name} released: its run stopped and cleaned up`);
  for (const [name, reason] of Object.entries(synced.refused)) {
    lines.push(`nodetask/${name} not started: ${reason} (kubectl describe nt ${name})`);
  }
  if (synced.error !== undefined) lines.push(`cluster ${synced.cluster}: ${synced.error}`);
  return lines;
}

function endLine(cluster: string, execution: ExecutionInfo, result: WorkflowRunResult): string {
  const task = taskOfExecution(cluster, execution.name) ?? execution.name;
  if (result.status === 'SUCCEEDED') return `nodetask/${task} succeeded`;
  if (result.status === 'ABORTED') return `nodetask/${task} stopped`;
  return `nodetask/${task} failed: ${result.error ?? 'error'}: ${extractReason(result.cause)}`;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Settles when `signal` aborts; never without one. */
function interrupted(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Runs the command; returns its exit code. */
export async function syncLocally(
  options: SyncOptions,
  deps: SyncCommandDependencies = defaultDependencies,
): Promise<number> {
  const kubeconfigYaml = await readText(options.kubeconfig, 'kubeconfig', MAX_DOCUMENT_BYTES);
  const local = localDependencies(options, kubeconfigYaml);
  const runtime = await deps.openRuntime(local, { fromSources: options.fromSources === true });
  try {
    return await syncOnRuntime(options, local, runtime, deps);
  } finally {
    runtime.close();
  }
}

/** The runs' options, as `penetrator run` takes them. */
function runOptions(options: SyncOptions): { pollSeconds?: number; retryIntervalSeconds?: number } {
  return {
    ...(options.poll !== undefined ? { pollSeconds: options.poll } : {}),
    ...(options.retryInterval !== undefined ? { retryIntervalSeconds: options.retryInterval } : {}),
  };
}

/** Prints what a pass did, each line once (a NodeTask left refused is seen again every pass); true when something was refused or failed. */
function report(result: SyncResult, told: Set<string>, stdout: (text: string) => void): boolean {
  let failed = false;
  for (const synced of result.clusters) {
    for (const line of passLines(synced).filter((l) => !told.has(l))) {
      told.add(line);
      stdout(`${line}\n`);
    }
    if (synced.error !== undefined || Object.keys(synced.refused).length > 0) failed = true;
  }
  return failed;
}

async function syncOnRuntime(
  options: SyncOptions,
  local: LocalDependencies,
  runtime: LocalRuntime,
  deps: SyncCommandDependencies,
): Promise<number> {
  // The door's own modules load the cluster client: only once a sync is really run.
  const [{ LocalWorkflow }, { localDependencies: localDoor }, { syncNodeTasks }, { executionEnded }] =
    await Promise.all([
      import('../local/local-workflow'),
      import('../../lambdas/local-handlers'),
      import('../../lambdas/use-cases/sync-node-tasks'),
      import('../../lambdas/use-cases/execution-ended'),
    ]);
  const cluster = options.cluster ?? 'local';
  const base = { ...localDoor(local), log: lineLog(deps.stderr) };
  let failed = false;
  const workflow = new LocalWorkflow(runtime, {
    ...runOptions(options),
    onEnd: async (execution, result) => {
      deps.stdout(`${endLine(cluster, execution, result)}\n`);
      if (result.status === 'SUCCEEDED') return;
      failed = true;
      // What the execution-status-change rule does in AWS: a stopped run ran no cleanup of its own.
      await executionEnded(
        { ...base, workflow },
        { detail: { executionArn: execution.arn, status: result.status } },
      );
    },
  });
  const told = new Set<string>();
  try {
    do {
      if (report(await syncNodeTasks({ ...base, workflow }), told, deps.stdout)) failed = true;
      if (options.watch) await pause(options.interval ?? DEFAULT_INTERVAL_MS, deps.signal);
    } while (options.watch && !deps.signal?.aborted);
    await Promise.race([Promise.all(workflow.running()), interrupted(deps.signal)]);
  } finally {
    if (workflow.running().length > 0) {
      deps.stderr('interrupted: stopping the running tasks and releasing the cluster\n');
      await workflow.stopAll();
    }
  }
  return failed || deps.signal?.aborted ? EXIT_FAILURE : 0;
}
