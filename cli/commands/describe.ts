/** `penetrator describe nodetask NAME`: the task's spec, status, execution, every node and its events. */
import type { Command } from 'commander';
import { CliError } from '../output';
import type { ApiClient } from '../remote/api-client';
import type { TaskEvent } from '../remote/api-types';
import { connect, processIo, withRemoteOptions, type RemoteFlags, type RemoteIo } from '../remote/connect';
import { addExamples } from '../remote/help';
import { describeTask } from '../remote/render';
import { checkResource } from './get';

export interface DescribeOptions extends RemoteFlags {
  cluster?: string;
}

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('describe')
      .description('show a NodeTask in detail: spec, status, per-node state and reasons, recent events')
      .argument('<resource>', 'nodetask')
      .argument('<name>', 'the task')
      .option('--cluster <name>', 'registered cluster; default: the only one'),
  ).action(async (resource: string, name: string, options: DescribeOptions) => {
    checkResource(resource);
    process.exitCode = await describeNodeTask(connect(options), name, options, processIo);
  });
  addExamples(program, command, ['penetrator describe nodetask nodes --cluster prod']);
}

export async function describeNodeTask(
  client: ApiClient,
  name: string,
  options: DescribeOptions,
  io: RemoteIo,
): Promise<number> {
  const detail = await client.getTask(name, options.cluster);
  let events: TaskEvent[] | undefined;
  try {
    events = (await client.taskEvents(name, options.cluster)).items;
  } catch (error) {
    // The task is shown even when its events cannot be read; the reason goes to stderr.
    if (!(error instanceof CliError)) throw error;
    io.stderr(`warning: events unavailable: ${error.message.split('\n')[0] ?? ''}\n`);
  }
  io.stdout(describeTask(detail, events, options.cluster, io.now()));
  return 0;
}
