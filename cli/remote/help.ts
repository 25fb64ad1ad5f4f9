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

/**
 * Every verb's examples, per program, rendered by one help listener: a listener per verb would pass
 * the emitter's default of ten and print a warning into every command's output.
 */
const programExamples = new WeakMap<Command, string[]>();

function lines(examples: readonly string[]): string {
  return examples.map((e) => `  $ ${e}`).join('\n');
}

export function addExamples(program: Command, command: Command, examples: readonly string[]): void {
  command.addHelpText('after', `\nExamples:\n${lines(examples)}\n`);
  let all = programExamples.get(program);
  if (all === undefined) {
    const listed: string[] = [];
    all = listed;
    programExamples.set(program, listed);
    program.addHelpText(
      'after',
      () =>
        `\nExamples:\n${lines(LOCAL_EXAMPLES)}\n` +
        '  # against a deployed stack: set PENETRATOR_ENDPOINT (or --endpoint) and AWS credentials\n' +
        lines(listed),
    );
  }
  all.push(...examples);
}
