/**
 * The `penetrator` program. Each verb lives in cli/commands/<verb>.ts and exports
 * `register(program)`; add one import and one line below to add a verb.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { PenetratorError } from '../lambdas/errors';
import * as validate from './commands/validate';
import * as runCommand from './commands/run';
import * as syncCommand from './commands/sync';
import * as demo from './commands/demo';
import * as sandbox from './commands/sandbox';
import * as apply from './commands/apply';
import * as get from './commands/get';
import * as describe from './commands/describe';
import * as events from './commands/events';
import * as deleteCommand from './commands/delete';
import * as retry from './commands/retry';
import * as credential from './commands/credential';
import * as cluster from './commands/cluster';
import { CliError, EXIT_FAILURE, EXIT_USAGE, printError } from './output';

const verbs: Array<{ register(program: Command): void }> = [
  validate,
  runCommand,
  syncCommand,
  demo,
  sandbox,
  apply,
  get,
  describe,
  events,
  deleteCommand,
  retry,
  credential,
  cluster,
];

function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('penetrator')
    .description(
      'Add and reinstall edge Kubernetes nodes from the cloud: NodeTasks run by a Step Functions workflow, or locally.',
    )
    .version(packageVersion())
    .showHelpAfterError('hint: run penetrator --help for usage')
    .exitOverride();
  for (const verb of verbs) verb.register(program);
  // Subcommands inherit exitOverride only when set on them; usage errors in verbs must reach us too.
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Maps any error to an exit code after printing it; stacks only with PENETRATOR_DEBUG=1. */
export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed the message (and help, for usage errors) already.
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) return 0;
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof CliError) {
    printError(error.message, error.hint, error.stack);
    return error.exitCode;
  }
  if (error instanceof PenetratorError) {
    printError(`${error.name}: ${error.message}`, undefined, error.stack);
    return EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  printError(
    message.split('\n')[0] ?? 'unexpected error',
    'this is unexpected; run again with PENETRATOR_DEBUG=1 for details',
    error instanceof Error ? error.stack : undefined,
  );
  return EXIT_FAILURE;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}

/** The process entry (cli/bin/penetrator.js): errors escaping a verb's callbacks are reported too. */
export async function run(): Promise<void> {
  process.on('uncaughtException', (error) => {
    process.exitCode = reportError(error);
  });
  process.on('unhandledRejection', (error) => {
    process.exitCode = reportError(error);
  });
  process.exitCode = await main();
}
