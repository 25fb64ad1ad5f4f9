/**
 * Examples in the help: each verb's own under `penetrator <verb> --help`, and all of them together
 * under `penetrator --help`, so the top-level help shows how every verb is used.
 */
import type { Command } from 'commander';

/** The local verbs' examples lead the top-level section; remote verbs add theirs after them. */
const LOCAL_EXAMPLES = [
  'penetrator validate -f examples/add-nodes.yaml',
  'penetrator run -f examples/add-nodes.yaml --kubeconfig admin.kubeconfig --credential login-secret.yaml',
  'penetrator sandbox up        # then: penetrator sandbox status / down',
  'penetrator demo',
];

const withSection = new WeakSet<Command>();

function lines(examples: readonly string[]): string {
  return examples.map((e) => `  $ ${e}`).join('\n');
}

export function addExamples(program: Command, command: Command, examples: readonly string[]): void {
  command.addHelpText('after', `\nExamples:\n${lines(examples)}\n`);
  if (!withSection.has(program)) {
    withSection.add(program);
    program.addHelpText('after', `\nExamples:\n${lines(LOCAL_EXAMPLES)}`);
    program.addHelpText(
      'after',
      '  # against a deployed stack: set PENETRATOR_ENDPOINT (or --endpoint) and AWS credentials',
    );
  }
  program.addHelpText('after', lines(examples));
}
