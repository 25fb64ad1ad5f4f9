/**
 * `penetrator delete nodetask NAME`: cancels a task. The API stops its execution and removes what it
 * created (its Jobs, the credential Secret, the lock); the verb then reads the task back to confirm.
 */
import type { Command } from 'commander';
import { CliError } from '../output';
import type { ApiClient } from '../remote/api-client';
import { ApiError } from '../remote/api-errors';
import { connect, processIo, withRemoteOptions, type RemoteFlags, type RemoteIo } from '../remote/connect';
import { addExamples } from '../remote/help';
import { checkResource } from './get';

export interface DeleteOptions extends RemoteFlags {
  cluster?: string;
}

export function register(program: Command): void {
  const command = withRemoteOptions(
    program
      .command('delete')
      .description(
        'cancel a NodeTask: stop its execution, delete its Jobs and credential Secret, release the cluster',
      )
      .argument('<resource>', 'nodetask')
      .argument('<name>', 'the task')
      .option('--cluster <name>', 'registered cluster; default: the only one'),
  ).action(async (resource: string, name: string, options: DeleteOptions) => {
    checkResource(resource);
    process.exitCode = await deleteNodeTask(connect(options), name, options, processIo);
  });
  addExamples(program, command, ['penetrator delete nodetask nodes --cluster prod']);
}

export async function deleteNodeTask(
  client: ApiClient,
  name: string,
  options: DeleteOptions,
  io: RemoteIo,
): Promise<number> {
  const answer = await client.cancelTask(name, options.cluster);
  if (!answer.cancelled) {
    throw new CliError(
      `nodetask/${name} was not cancelled`,
      undefined,
      'run the command again, or see the API logs',
    );
  }
  io.stdout(`nodetask/${name} cancelled\n`);
  const status = await executionStatus(client, name, options.cluster);
  if (status) io.stdout(`execution: ${status}\n`);
  if (status === 'RUNNING') {
    io.stderr(
      'warning: the execution still reports RUNNING; it stops within seconds — check with penetrator get nodetask\n',
    );
  }
  return 0;
}

/** The execution's status after the cancel; undefined when the task is gone or has no execution. */
async function executionStatus(
  client: ApiClient,
  name: string,
  cluster?: string,
): Promise<string | undefined> {
  try {
    return (await client.getTask(name, cluster)).execution?.status;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}
