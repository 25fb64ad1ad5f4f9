/**
 * `penetrator run -f FILE --kubeconfig PATH --credential PATH`: runs a NodeTask through the very
 * state machine definition that is deployed to AWS, executed locally, each Task state running its
 * Lambda's bundle from the synthesized assembly in a warm Node.js process of the deployed runtime
 * (`--from-sources`: the TypeScript handlers in-process, faster to iterate on). Progress and the
 * artifact of each state go to stderr, the result to stdout.
 */
import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { parse } from 'yaml';
import type { CleanupInput, LambdaName, WorkflowHandler } from '../../lambdas/domain/contracts';
import { MAX_DOCUMENT_BYTES, parseNodeTaskText } from '../../lambdas/domain/node-task';
import { extractReason } from '../../lambdas/domain/summary';
import type { LocalDependencies } from '../../lambdas/local-handlers';
import { type LocalRuntime, LocalRuntimes, type RuntimeChoice } from '../local/local-runtime';
import { localPackageSource } from '../local/package-source';
import { nodeColumns, ProgressTracker } from '../local/progress';
import type { WorkflowRunResult } from '../local/run-workflow';
import { CliError, EXIT_FAILURE, parseOutputFormat, render, type OutputFormat } from '../output';

export interface RunOptions {
  file: string;
  kubeconfig: string;
  credential: string;
  cluster?: string;
  package?: string;
  packageSha256?: string;
  image?: string;
  poll?: number;
  retryInterval?: number;
  output?: string;
  fromSources?: boolean;
}

/** What the command needs from outside; tests replace the runtime (definition and handlers), nothing else. */
export interface RunDependencies {
  openRuntime: (deps: LocalDependencies, choice: RuntimeChoice) => Promise<LocalRuntime>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

const runtimes = new LocalRuntimes();

export const defaultDependencies: RunDependencies = {
  openRuntime: (deps, choice) => runtimes.open(deps, choice),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Ends the warm Lambda processes the local runs opened; a verb's last step. */
export function disposeRuntimes(): Promise<void> {
  return runtimes.dispose();
}

export function seconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`${flag} takes a number of seconds ≥ 0; received "${value}"`);
    }
    return n;
  };
}

/** The options every local run shares (`run`, `sync`): the package, the image and the pauses. */
export function withLocalRunOptions(command: Command): Command {
  return command
    .option(
      '--package <path>',
      "install package on the proxy node (a hostPath); default: the installer image's",
    )
    .option('--package-sha256 <hex>', "the package's sha256; default: computed from the --package file")
    .option('--image <image>', 'installer image of the install Jobs')
    .option(
      '--poll <seconds>',
      'seconds between two checks of a running install (overrides every Wait)',
      seconds('--poll'),
    )
    .option(
      '--retry-interval <seconds>',
      'first pause before a retry (backoff kept)',
      seconds('--retry-interval'),
    );
}

export function register(program: Command): void {
  const command = program
    .command('run')
    .description(
      'run a NodeTask locally through the deployed workflow definition, against a kubeconfig (no AWS)',
    )
    .requiredOption('-f, --file <file>', 'the NodeTask (YAML or JSON)')
    .requiredOption('--kubeconfig <path>', "the target cluster's kubeconfig")
    .requiredOption(
      '--credential <path>',
      'SSH credential file (passwd/sshkey YAML or a PEM key), or a directory of them by name',
    )
    .option('--cluster <name>', 'name the cluster is registered under for this run', 'local');
  withLocalRunOptions(command)
    .option('-o, --output <format>', 'print the result as json or yaml instead of a table')
    .option(
      '--from-sources',
      'run the handlers from the TypeScript sources in-process (fast, for development) instead of the bundles',
    )
    .action(async (options: RunOptions) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        process.exitCode = await runNodeTask(options, { ...defaultDependencies, signal: controller.signal });
      } finally {
        process.off('SIGINT', stop);
        await runtimes.dispose();
      }
    });
}

export async function readText(path: string, what: string, limit: number): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(`cannot read ${what} ${path}: not a file`);
    if (info.size > limit) throw new CliError(`cannot read ${what} ${path}: larger than ${limit} bytes`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : String(code)}`);
  }
}

export function localDependencies(
  options: Omit<RunOptions, 'file'>,
  kubeconfigYaml: string,
): LocalDependencies {
  return {
    kubeconfigYaml,
    credentialPath: options.credential,
    ...(options.cluster ? { clusterName: options.cluster } : {}),
    settings: {
      ...(options.image ? { installerImage: options.image } : {}),
      ...(options.package
        ? { packageSource: localPackageSource(options.package, options.packageSha256) }
        : {}),
      // What the nodes' Retrying Events announce: the pause this runner keeps (whole seconds).
      ...(options.retryInterval !== undefined
        ? { attemptIntervalSeconds: Math.ceil(options.retryInterval) }
        : {}),
    },
  };
}

/** Runs the command; returns its exit code. */
export async function runNodeTask(
  options: RunOptions,
  deps: RunDependencies = defaultDependencies,
): Promise<number> {
  // Checked before any file is read, so a typo in -o costs nothing.
  if (options.output !== undefined) parseOutputFormat(options.output, ['json', 'yaml']);
  const text = await readText(options.file, 'NodeTask', MAX_DOCUMENT_BYTES + 1);
  const validation = parseNodeTaskText(text);
  if (!validation.ok) {
    deps.stderr(validation.problems.map((p) => `${p}\n`).join(''));
    return EXIT_FAILURE;
  }
  const kubeconfigYaml = await readText(options.kubeconfig, 'kubeconfig', MAX_DOCUMENT_BYTES);
  return runDocument(options, { taskName: validation.task.metadata.name, text }, kubeconfigYaml, deps);
}

/** Runs a validated NodeTask's text (YAML or JSON) on the local runtime; returns the exit code. */
export async function runDocument(
  options: Omit<RunOptions, 'file'>,
  document: { taskName: string; text: string },
  kubeconfigYaml: string,
  deps: RunDependencies = defaultDependencies,
): Promise<number> {
  const format = options.output === undefined ? 'table' : parseOutputFormat(options.output, ['json', 'yaml']);
  const runtime = await deps.openRuntime(localDependencies(options, kubeconfigYaml), {
    fromSources: options.fromSources === true,
  });
  try {
    return await runOnRuntime(options, format, document, runtime, deps);
  } finally {
    runtime.close();
  }
}

async function runOnRuntime(
  options: Omit<RunOptions, 'file'>,
  format: OutputFormat,
  { taskName, text }: { taskName: string; text: string },
  { definition, handlers, objects, artifacts }: LocalRuntime,
  deps: RunDependencies,
): Promise<number> {
  for (const line of artifacts) deps.stderr(`runs: ${line}\n`);
  const tracker = new ProgressTracker();
  // The local interpreter takes longer to load than every other verb needs to start.
  const { runWorkflowLocally } = await import('../local/run-workflow');
  const result = await runWorkflowLocally({
    definition,
    // The document as submitted, like an execution's input in AWS; Plan validates it again.
    input: { nodeTask: parse(text) as unknown, ...(options.cluster ? { cluster: options.cluster } : {}) },
    handlers,
    objects,
    ...(options.poll !== undefined ? { pollSeconds: options.poll } : {}),
    ...(options.retryInterval !== undefined ? { retryIntervalSeconds: options.retryInterval } : {}),
    onEvent: (event) => {
      const line = tracker.line(event);
      if (line) deps.stderr(`${line}\n`);
    },
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (result.status === 'ABORTED') await releaseAfterInterrupt(tracker, handlers, deps);
  deps.stdout(report(format, taskName, result, tracker));
  return result.status === 'SUCCEEDED' ? 0 : EXIT_FAILURE;
}

/**
 * An interrupted run stops where it is, as StopExecution does; but a lock left behind would make the
 * cluster busy until its Lease expires, so the run cleans up as the workflow's error path would.
 */
async function releaseAfterInterrupt(
  tracker: ProgressTracker,
  handlers: Record<LambdaName, WorkflowHandler>,
  deps: RunDependencies,
): Promise<void> {
  if (!tracker.lockHeld || !tracker.task) return;
  deps.stderr(`interrupted: releasing cluster ${tracker.task.cluster}\n`);
  const input: CleanupInput = {
    task: tracker.task,
    error: { Error: 'Interrupted', Cause: 'the local run was interrupted' },
  };
  try {
    await handlers.cleanup(input);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr(`cleanup failed: ${message.split('\n')[0] ?? ''}\n`);
  }
}

function report(
  format: OutputFormat,
  task: string,
  result: WorkflowRunResult,
  tracker: ProgressTracker,
): string {
  const rows = tracker.rows();
  const data = {
    task,
    status: result.status,
    executionId: result.executionId,
    ...(result.error ? { error: result.error, cause: extractReason(result.cause) } : {}),
    ...(result.output !== undefined ? { output: result.output } : {}),
    nodes: rows,
  };
  if (format !== 'table') return render(format, rows, nodeColumns, data);
  const table = rows.length > 0 ? render('table', rows, nodeColumns) : '';
  const outcome =
    result.status === 'SUCCEEDED'
      ? `nodetask/${task} succeeded`
      : result.status === 'ABORTED'
        ? `nodetask/${task} aborted`
        : `nodetask/${task} failed: ${result.error ?? 'error'}: ${extractReason(result.cause)}`;
  return `${table}${outcome}\n`;
}
