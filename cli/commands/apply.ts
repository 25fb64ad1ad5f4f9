/**
 * `penetrator apply -f FILE [--cluster C] [--wait]`: submits a NodeTask to the deployed API, which
 * starts its execution; with --wait, follows the task until the execution ends.
 */
import type { Command } from 'commander';
import { MAX_DOCUMENT_BYTES, parseNodeTaskText } from '../../lambdas/domain/node-task';
import { CliError, EXIT_FAILURE, EXIT_USAGE, parseOutputFormat, render, type OutputFormat } from '../output';
import type { DocumentType } from '../remote/api-client';
import type { SubmitResponse, TaskDetail } from '../remote/api-types';
import {
  clientFrom,
  connect,
  positiveSeconds,
  processIo,
  withRemoteOptions,
  type ClientSource,
  type RemoteFlags,
  type RemoteIo,
} from '../remote/connect';
import { addExamples } from '../remote/help';
import { readTextFile } from '../remote/inputs';
import { nodeColumns } from '../remote/render';
import { waitForTask } from '../remote/wait';

export interface ApplyOptions extends RemoteFlags {
  file: string;
  cluster?: string;
  wait?: boolean;
  output?: string;
  /** Seconds between two polls with --wait. */
  interval?: number;
  /** Seconds --wait waits at most. */
  waitTimeout?: number;
}

/** An interrupted wait exits as a process stopped by SIGINT does. */
export const EXIT_INTERRUPTED = 130;
const DEFAULT_INTERVAL_SECONDS = 5;
/** The deployment's default execution timeout: waiting longer cannot see anything new. */
const DEFAULT_WAIT_TIMEOUT_SECONDS = 24 * 3600;
const NOT_FOUND_GRACE_MS = 120_000;

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('apply')
      .description('submit a NodeTask to the deployed workflow (API Gateway); --wait follows it to the end')
      .requiredOption('-f, --file <file>', 'the NodeTask (YAML or JSON)')
      .option('--cluster <name>', 'registered cluster to run on; default: spec.cluster, else the only one')
      .option('--wait', 'poll until the execution ends, printing per-node progress')
      .option('--interval <seconds>', 'seconds between two polls with --wait', positiveSeconds('--interval'))
      .option(
        '--wait-timeout <seconds>',
        'stop waiting after this long (the task keeps running)',
        positiveSeconds('--wait-timeout'),
      )
      .option('-o, --output <format>', 'print the answer (or, with --wait, the final task) as json or yaml'),
  ).action(async (options: ApplyOptions) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      process.exitCode = await applyNodeTask(() => connect(options), options, processIo, controller.signal);
    } finally {
      process.off('SIGINT', stop);
    }
  });
  addExamples(program, command, ['penetrator apply -f examples/add-nodes.yaml --cluster prod --wait']);
}

/** JSON documents go as JSON, everything else as YAML: the API parses either. */
export function documentType(text: string): DocumentType {
  return text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml';
}

/** Runs the verb; returns its exit code. */
export async function applyNodeTask(
  client: ClientSource,
  options: ApplyOptions,
  io: RemoteIo,
  signal?: AbortSignal,
): Promise<number> {
  const format =
    options.output === undefined ? undefined : parseOutputFormat(options.output, ['json', 'yaml']);
  const text = await readTextFile(options.file, 'NodeTask', MAX_DOCUMENT_BYTES);
  // The same check the API makes, done here first so a typo costs no round trip.
  const validation = parseNodeTaskText(text);
  if (!validation.ok) {
    throw new CliError(
      ['invalid NodeTask', ...validation.problems.map((p) => `  ${p}`)].join('\n'),
      EXIT_USAGE,
    );
  }
  const api = clientFrom(client);
  const submitted = await api.submitTask(text, documentType(text), options.cluster);
  if (!options.wait) {
    io.stdout(format ? render(format, [], [], submitted) : submittedLine(submitted));
    return 0;
  }
  io.stderr(submittedLine(submitted));
  const result = await waitForTask(api, submitted, io, {
    intervalMs: (options.interval ?? DEFAULT_INTERVAL_SECONDS) * 1000,
    timeoutMs: (options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT_SECONDS) * 1000,
    notFoundGraceMs: NOT_FOUND_GRACE_MS,
    ...(signal ? { signal } : {}),
  });
  if (result.outcome === 'interrupted') {
    io.stderr(
      `stopped waiting; nodetask/${submitted.name} keeps running (penetrator describe nodetask ${submitted.name} --cluster ${submitted.cluster})\n`,
    );
    return EXIT_INTERRUPTED;
  }
  io.stdout(finalReport(submitted.name, result.detail, format));
  return result.detail.execution?.status === 'SUCCEEDED' ? 0 : EXIT_FAILURE;
}

/** The nodes' final table and one line saying how the execution ended (or the task as JSON/YAML). */
export function finalReport(name: string, detail: TaskDetail, format?: OutputFormat): string {
  const nodes = detail.status?.nodes ?? [];
  if (format) return render(format, nodes, nodeColumns, detail);
  const status = detail.execution?.status ?? 'UNKNOWN';
  const failed = detail.status?.progress?.failed ?? nodes.filter((n) => n.state === 'failed').length;
  const outcome =
    status === 'SUCCEEDED'
      ? `nodetask/${name} succeeded`
      : `nodetask/${name} ${status.toLowerCase().replace('_', ' ')}${failed ? `: ${failed} of ${nodes.length} nodes failed` : ''}`;
  return `${nodes.length ? render('table', nodes, nodeColumns) : ''}${outcome}\n`;
}

function submittedLine(s: SubmitResponse): string {
  return `nodetask/${s.name} submitted to cluster ${s.cluster} (execution ${s.executionArn})\n`;
}
