/** `penetrator events NAME`: the Kubernetes Events of a task (TYPE REASON AGE MESSAGE), oldest first. */
import type { Command } from 'commander';
import { parseOutputFormat, render } from '../output';
import type { ApiClient } from '../remote/api-client';
import { connect, processIo, withRemoteOptions, type RemoteFlags, type RemoteIo } from '../remote/connect';
import { addExamples } from '../remote/help';
import { eventColumns, sortEvents } from '../remote/render';

export interface EventsOptions extends RemoteFlags {
  cluster?: string;
  output?: string;
}

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('events')
      .description("a NodeTask's events: progress and errors the workflow recorded in the cluster")
      .argument('<name>', 'the task')
      .option('--cluster <name>', 'registered cluster; default: the only one')
      .option('-o, --output <format>', 'table, json or yaml', 'table'),
  ).action(async (name: string, options: EventsOptions) => {
    process.exitCode = await taskEvents(connect(options), name, options, processIo);
  });
  addExamples(program, command, ['penetrator events nodes --cluster prod']);
}

export async function taskEvents(
  client: ApiClient,
  name: string,
  options: EventsOptions,
  io: RemoteIo,
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
  const list = await client.taskEvents(name, options.cluster);
  const events = sortEvents(list.items);
  if (events.length === 0 && format === 'table') {
    io.stderr(`no events for nodetask/${name}\n`);
    return 0;
  }
  io.stdout(render(format, events, eventColumns(io.now()), { items: events }));
  return 0;
}
