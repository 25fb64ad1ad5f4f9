import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  /** Written to the command's stdin (secrets go here, never into argv). */
  input?: string;
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 1 << 20;

/** A command of the test network failed. The message names the command and its stderr, never its input. */
export class CommandFailedError extends Error {
  override readonly name = 'EdgeNetwork.CommandFailed';
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    const status = result.signal ? `signal ${result.signal}` : `exit code ${String(result.code)}`;
    super(`${argv.join(' ')} failed (${status}): ${result.stderr.trim().slice(0, 2000)}`);
  }
}

/** Runs a command without a shell and collects its output; never throws for a non-zero exit. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A command that exits before reading its input must not crash the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but a non-zero exit is a CommandFailedError. Resolves to stdout. */
export async function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const result = await run(argv, opts);
  if (result.code !== 0) throw new CommandFailedError(argv, result);
  return result.stdout;
}

/** Runs a command inside a network namespace (the mount namespace stays the host's). */
export function runInNetns(
  netns: string,
  argv: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', netns, ...argv], opts);
}

/**
 * Synchronous variant for teardown, which also runs from process exit hooks where nothing
 * asynchronous can run any more. Never throws.
 */
export function runSync(argv: readonly string[], timeoutMs = 10_000): RunResult {
  const [file, ...args] = argv;
  if (file === undefined) return { code: null, signal: null, stdout: '', stderr: 'empty argv' };
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return {
    code: result.status,
    signal: result.signal,
    stdout: result.stdout ?? '',
    stderr: result.error ? String(result.error) : (result.stderr ?? ''),
  };
}

/** Quotes one word for POSIX sh: the result is always a single literal argument. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
