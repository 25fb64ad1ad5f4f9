/**
 * Reading what the user hands the remote verbs: files of bounded size, and a password from stdin with
 * the terminal's echo off. A secret read here goes into one request body and nowhere else.
 */
import { open } from 'node:fs/promises';
import { CliError, EXIT_USAGE } from '../output';

/** Reads a text file of at most `limit` bytes; a larger one is refused, not truncated. */
export async function readTextFile(path: string, what: string, limit: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new CliError(`cannot read ${what} ${path}: ${why}`, EXIT_USAGE);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new CliError(`cannot read ${what} ${path}: not a file`, EXIT_USAGE);
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length <= limit) {
      const { bytesRead } = await handle.read(buffer, length, limit + 1 - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit)
      throw new CliError(`cannot read ${what} ${path}: larger than ${limit} bytes`, EXIT_USAGE);
    return decode(buffer.subarray(0, length), `${what} ${path}`);
  } finally {
    await handle.close();
  }
}

function decode(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${what} is not UTF-8 text`, EXIT_USAGE);
  }
}

/** The part of a TTY stream the password prompt needs. */
interface Terminal extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

const MAX_SECRET_BYTES = 64 * 1024;

/**
 * A password from stdin: typed at a prompt without echo when stdin is a terminal, else the whole
 * stream (`echo … |`, `< file`), one trailing newline removed.
 */
export async function readPassword(
  stdin: Terminal = process.stdin,
  prompt: (text: string) => void = (t) => process.stderr.write(t),
): Promise<string> {
  const text = stdin.isTTY && stdin.setRawMode ? await typed(stdin, prompt) : await piped(stdin);
  const password = text.replace(/\r?\n$/, '');
  if (password === '') {
    throw new CliError(
      'the password read from stdin is empty',
      EXIT_USAGE,
      'pipe it in: … | penetrator credential put NAME --password-stdin',
    );
  }
  return password;
}

async function piped(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    length += buffer.length;
    if (length > MAX_SECRET_BYTES) {
      throw new CliError(`the password read from stdin is larger than ${MAX_SECRET_BYTES} bytes`, EXIT_USAGE);
    }
    chunks.push(buffer);
  }
  return decode(Buffer.concat(chunks), 'the password read from stdin');
}

/** Raw mode turns echo off; the characters are collected here until Enter. Ctrl-C cancels. */
function typed(stdin: Terminal, prompt: (text: string) => void): Promise<string> {
  // Echo goes off before the prompt shows, so nothing typed after it can be echoed.
  stdin.setRawMode!(true);
  prompt('Password: ');
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      prompt('\n');
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new CliError('cancelled', EXIT_USAGE));
        if (char === '\u007f' || char === '\b') text = text.slice(0, -1);
        else if (text.length < MAX_SECRET_BYTES) text += char;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
