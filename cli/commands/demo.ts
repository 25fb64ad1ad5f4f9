/**
 * `penetrator demo` (what `npm start` runs): the product end to end on this machine, in a sandbox it
 * starts and removes. The work is in cli/sandbox/demo.ts, loaded only when the verb runs.
 */
import type { Command } from 'commander';
import { DEFAULT_DEMO_POLL_SECONDS, parsePollSeconds } from '../sandbox/options';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the product end to end on this machine: a sandbox cluster and edge site, the examples add and reinstall nodes, the nodes listed, the sandbox removed (root only)',
    )
    .option('--keep', 'leave the sandbox running afterwards and print how to use and stop it')
    .option(
      '--poll <seconds>',
      'seconds between two checks of a running install',
      parsePollSeconds,
      DEFAULT_DEMO_POLL_SECONDS,
    )
    .action(async (options: { keep?: boolean; poll: number }) => {
      const { runDemo } = await import('../sandbox/demo');
      process.exitCode = await runDemo(options);
    });
}
