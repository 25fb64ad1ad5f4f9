/**
 * `penetrator retry nodetask NAME`: runs an ended task again for its machines not yet installed,
 * under the names and the label its first run gave them; installed machines are skipped. Through
 * the deployed API (POST /tasks/{name}/retry) by default; with --kubeconfig, locally, the way
 * `penetrator run` runs a task, after the same checks (use-cases/retry-task.ts).
 */
import type { Command } from 'commander';
import { parse } from 'yaml';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import { MAX_DOCUMENT_BYTES } from '../../lambdas/domain/node-task';
import { taskToRetry } from '../../lambdas/use-cases/retry-task';
import { CliError, EXIT_FAILURE, EXIT_USAGE, parseOutputFormat, render } from '../output';
import type { ApiClient } from '../remote/api-client';
import {
  connect,
  positiveSeconds,
  processIo,
  withRemoteOptions,
  type RemoteFlags,
  type RemoteIo,
} from '../remote/connect';
import { addExamples } from '../remote/help';
import { readTextFile } from '../remote/inputs';
import { waitForTask } from '../remote/wait';
import { EXIT_INTERRUPTED, finalReport } from './apply';
import { checkResource } from './get';
import { defaultDependencies, disposeRuntimes, runDocument, seconds, type RunDependencies } from './run';

export interface RetryOptions extends RemoteFlags {
  cluster?: string;
  wait?: boolean;
  interval?: number;
  waitTimeout?: number;
  output?: string;
  /** Local door: the target cluster's kubeconfig. */
  kubeconfig?: string;
  credential?: string;
  /** Local door: the task's document, when the cluster does not hold it. */
  file?: string;
  package?: string;
  image?: string;
  poll?: number;
  retryInterval?: number;
  fromSources?: boolean;
}

const DEFAULT_INTERVAL_SECONDS = 5;
const DEFAULT_WAIT_TIMEOUT_SECONDS = 24 * 3600;
const NOT_FOUND_GRACE_MS = 120_000;
/** The cluster name a local run registers its kubeconfig under (penetrator run's default). */
const LOCAL_CLUSTER = 'local';

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('retry')
      .description(
        'run an ended NodeTask again for its machines not yet installed (same names, same label); installed ones are skipped',
      )
      .argument('<resource>', 'nodetask')
      .argument('<name>', 'the task')
      .option('--cluster <name>', 'registered cluster; default: the only one')
      .option('--wait', 'poll until the execution ends, printing per-node progress')
      .option('--interval <seconds>', 'seconds between two polls with --wait', positiveSeconds('--interval'))
      .option(
        '--wait-timeout <seconds>',
        'stop waiting after this long (the task keeps running)',
        positiveSeconds('--wait-timeout'),
      )
      .option('-o, --output <format>', 'print the answer (or the final task) as json or yaml')
      .option('--kubeconfig <path>', 'retry locally against this cluster, as penetrator run does (no AWS)')
      .option('--credential <path>', 'local: SSH credential file, or a directory of them by name')
      .option('-f, --file <file>', "local: the task's NodeTask, when the cluster does not hold it")
      .option('--package <path>', 'local: install package on the proxy node (a hostPath)')
      .option('--image <image>', 'local: installer image of the install Jobs')
      .option('--poll <seconds>', 'local: seconds between two checks of a running install', seconds('--poll'))
      .option('--retry-interval <seconds>', 'local: first pause before a retry', seconds('--retry-interval'))
      .option('--from-sources', 'local: run the handlers from the TypeScript sources in-process'),
  ).action(async (resource: string, name: string, options: RetryOptions) => {
    checkResource(resource);
    if (options.kubeconfig !== undefined) {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        process.exitCode = await retryLocally(name, options, {
          ...defaultDependencies,
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', stop);
        await disposeRuntimes();
      }
      return;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      process.exitCode = await retryNodeTask(connect(options), name, options, processIo, controller.signal);
    } finally {
      process.off('SIGINT', stop);
    }
  });
  addExamples(program, command, ['penetrator retry nodetask nodes --cluster prod --wait']);
}

/** The remote door; returns the exit code. */
export async function retryNodeTask(
  client: ApiClient,
  name: string,
  options: RetryOptions,
  io: RemoteIo,
  signal?: AbortSignal,
): Promise<number> {
  const format =
    options.output === undefined ? undefined : parseOutputFormat(options.output, ['json', 'yaml']);
  const started = await client.retryTask(name, options.cluster);
  const line = `nodetask/${started.name} retried in cluster ${started.cluster} (execution ${started.executionArn})\n`;
  if (!options.wait) {
    io.stdout(format ? render(format, [], [], started) : line);
    return 0;
  }
  io.stderr(line);
  const result = await waitForTask(client, started, io, {
    intervalMs: (options.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000,
    timeoutMs: (options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT_SECONDS) * 1000,
    notFoundGraceMs: NOT_FOUND_GRACE_MS,
    ...(signal ? { signal } : {}),
  });
  if (result.outcome === 'interrupted') {
    io.stderr(`stopped waiting; nodetask/${name} keeps running\n`);
    return EXIT_INTERRUPTED;
  }
  io.stdout(finalReport(name, result.detail, format));
  return result.detail.execution?.status === 'SUCCEEDED' ? 0 : EXIT_FAILURE;
}

/** The local door: the same refusals as the API's, then the task's document run as `penetrator run` runs it. */
export async function retryLocally(
  name: string,
  options: RetryOptions,
  deps: RunDependencies = defaultDependencies,
): Promise<number> {
  if (options.kubeconfig === undefined || options.credential === undefined) {
    throw new CliError('a local retry needs --kubeconfig and --credential', EXIT_USAGE);
  }
  const kubeconfigYaml = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_DOCUMENT_BYTES);
  const document =
    options.file === undefined
      ? undefined
      : (parse(await readTextFile(options.file, 'NodeTask', MAX_DOCUMENT_BYTES)) as unknown);
  const cluster = options.cluster ?? LOCAL_CLUSTER;
  const kube = kubeFromKubeconfig(cluster, kubeconfigYaml);
  const task = await taskToRetry(
    { kube: () => Promise.resolve(kube) },
    { name, cluster, ...(document === undefined ? {} : { document }) },
  );
  deps.stderr(`nodetask/${name}: retrying the machines not yet installed\n`);
  return runDocument(
    { ...options, credential: options.credential, kubeconfig: options.kubeconfig, cluster },
    { taskName: name, text: JSON.stringify(task) },
    kubeconfigYaml,
    deps,
  );
}
