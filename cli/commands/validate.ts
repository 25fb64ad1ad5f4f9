/** `penetrator validate -f FILE`: checks a NodeTask offline, exactly as the workflow's Plan state does. */
import type { Command } from 'commander';
import { open } from 'node:fs/promises';
import { MAX_DOCUMENT_BYTES, parseNodeTaskText } from '../../lambdas/domain/node-task';
import { resolveSpec } from '../../lambdas/domain/spec-defaults';
import {
  CliError,
  EXIT_FAILURE,
  parseOutputFormat,
  renderJson,
  renderYaml,
  type OutputFormat,
} from '../output';

/** One byte more than the domain accepts, so an oversized input is still reported as oversized. */
const READ_LIMIT = MAX_DOCUMENT_BYTES + 1;

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a NodeTask document (YAML or JSON) without running it')
    .requiredOption('-f, --filename <file>', 'the NodeTask file, or - for stdin')
    .option('-o, --output <format>', 'print the result as json or yaml instead of a sentence')
    .action(async (options: { filename: string; output?: string }) => {
      const format =
        options.output === undefined ? undefined : parseOutputFormat(options.output, ['json', 'yaml']);
      const text = await readInput(options.filename);
      const result = parseNodeTaskText(text);
      if (!result.ok) {
        if (format) process.stdout.write(formatResult(format, { valid: false, problems: result.problems }));
        else process.stderr.write(result.problems.map((p) => `${p}\n`).join(''));
        process.exitCode = EXIT_FAILURE;
        return;
      }
      const spec = resolveSpec(result.task);
      const name = result.task.metadata.name;
      const count = result.targets.length;
      if (format) {
        process.stdout.write(
          formatResult(format, { valid: true, name, mode: spec.mode, machines: result.targets }),
        );
        return;
      }
      process.stdout.write(
        `nodetask/${name} is valid (${count} ${count === 1 ? 'machine' : 'machines'}, mode ${spec.mode})\n`,
      );
    });
}

function formatResult(format: OutputFormat, value: unknown): string {
  return format === 'yaml' ? renderYaml(value) : renderJson(value);
}

/** Reads at most READ_LIMIT bytes: a huge file or an endless stream cannot exhaust memory. */
async function readInput(filename: string): Promise<string> {
  const bytes = filename === '-' ? await readStream(process.stdin) : await readFile(filename);
  // Oversized input is refused by size, whatever it holds.
  if (bytes.length > MAX_DOCUMENT_BYTES) return Buffer.from(bytes).toString('latin1');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(
      `${filename === '-' ? 'stdin' : filename} is not UTF-8 text`,
      EXIT_FAILURE,
      'pass a NodeTask in YAML or JSON',
    );
  }
}

async function readFile(filename: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(filename, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new CliError(
      `cannot read ${filename}: ${why}`,
      EXIT_FAILURE,
      'check the path, or use -f - to read stdin',
    );
  }
  try {
    const buffer = Buffer.alloc(READ_LIMIT);
    let length = 0;
    while (length < READ_LIMIT) {
      const { bytesRead } = await handle.read(buffer, length, READ_LIMIT - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${filename}: ${code === 'EISDIR' ? 'it is a directory' : String(code)}`);
  } finally {
    await handle.close();
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buffer);
    length += buffer.length;
    if (length >= READ_LIMIT) break; // leaving the loop stops reading: the rest is never buffered
  }
  return Buffer.concat(chunks).subarray(0, READ_LIMIT);
}
