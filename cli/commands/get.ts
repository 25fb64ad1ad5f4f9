/**
 * `penetrator get nodetasks [--cluster C]` and `penetrator get nodetask NAME`: tasks as the deployed
 * API reports them, in a table or, with -o json|yaml, as the API's own documents.
 */
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, parseOutputFormat, render } from '../output';
import type { ApiClient } from '../remote/api-client';
import { connect, processIo, withRemoteOptions, type RemoteFlags, type RemoteIo } from '../remote/connect';
import { addExamples } from '../remote/help';
import { rowFromDetail, rowFromListItem, taskColumns } from '../remote/render';

export interface GetOptions extends RemoteFlags {
  cluster?: string;
  output?: string;
}

const RESOURCE_NAMES = ['nodetask', 'nodetasks', 'nt'];

/** kubectl accepts the singular, the plural and a short name for every kind; so does this. */
export function checkResource(resource: string): void {
  if (!RESOURCE_NAMES.includes(resource.toLowerCase())) {
    throw new CliError(
      `unknown resource type "${resource}"`,
      EXIT_USAGE,
      `the only resource is nodetask (also: ${RESOURCE_NAMES.slice(1).join(', ')})`,
    );
  }
}

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('get')
      .description('list NodeTasks, or show one, from the deployed API')
      .argument('<resource>', 'nodetasks (or nodetask, nt)')
      .argument('[name]', 'one task')
      .option('--cluster <name>', 'registered cluster; default: the only one')
      .option('-o, --output <format>', 'table, wide, json or yaml', 'table'),
  ).action(async (resource: string, name: string | undefined, options: GetOptions) => {
    checkResource(resource);
    process.exitCode = await getNodeTasks(connect(options), name, options, processIo);
  });
  addExamples(program, command, [
    'penetrator get nodetasks --cluster prod',
    'penetrator get nodetask nodes -o yaml',
  ]);
}

export async function getNodeTasks(
  client: ApiClient,
  name: string | undefined,
  options: GetOptions,
  io: RemoteIo,
): Promise<number> {
  const format = parseOutputFormat(options.output);
  const columns = taskColumns(io.now());
  if (name !== undefined) {
    const detail = await client.getTask(name, options.cluster);
    io.stdout(render(format, [rowFromDetail(detail, options.cluster)], columns, detail));
    return 0;
  }
  const list = await client.listTasks(options.cluster);
  const rows = list.items.map(rowFromListItem);
  if (rows.length === 0 && (format === 'table' || format === 'wide')) {
    io.stderr(`no nodetasks${options.cluster ? ` on cluster ${options.cluster}` : ''}\n`);
    return 0;
  }
  io.stdout(render(format, rows, columns, list));
  return 0;
}
