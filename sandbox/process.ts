/**
 * Process plumbing shared by the control plane and the test kubelet: spawning children that die with
 * us, stopping them in order, bounded polling, free ports, and work directories that a later run can
 * recognise as stale and remove.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Every child still running, killed synchronously if this process exits without stopping them. */
const liveChildren = new Map<ChildProcess, { group: boolean }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; SIGKILL is the only signal that cannot be ignored. A hard
  // crash (SIGKILL of this process) skips this hook, which is what pdeathsig below is for.
  process.on('exit', () => {
    for (const [child, { group }] of liveChildren) killQuietly(child.pid, 'SIGKILL', group);
  });
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals, group = false): void {
  if (pid === undefined) return;
  try {
    process.kill(group ? -pid : pid, signal);
  } catch {
    // Already gone: nothing to do.
  }
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Shown in errors and used for nothing else. */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended here. */
  logPath: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Put the child in its own process group and signal the whole group on stop. */
  processGroup?: boolean;
}

/**
 * Starts a child that receives SIGKILL when this process dies, however it dies: `setpriv
 * --pdeathsig KILL` sets the parent-death signal and then execs the command, and the kernel keeps that
 * setting across exec. Arguments go straight to execve; no shell is involved.
 */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installExitHook();
  const fd = openSync(opts.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: opts.processGroup === true,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    // The 'error' event still follows; without a listener it would crash the test process.
    child.once('error', () => undefined);
    throw new Error(`${opts.name}: could not start ${opts.command} (is util-linux setpriv installed?)`);
  }
  const pid = child.pid;
  const group = opts.processGroup === true;
  liveChildren.set(child, { group });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      liveChildren.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', () => {
      done = true;
      liveChildren.delete(child);
      resolve('spawn-error');
    });
  });
  return {
    name: opts.name,
    pid,
    logPath: opts.logPath,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5_000): Promise<void> {
      if (done) return;
      killQuietly(pid, 'SIGTERM', group);
      const timer = setTimeout(() => killQuietly(pid, 'SIGKILL', group), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
      // Anything the leader left behind in its group goes too.
      if (group) killQuietly(pid, 'SIGKILL', true);
    },
  };
}

/** The last `lines` lines of a log file, for error messages. */
export function tailFile(path: string, lines = 30): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '(no log)';
  }
}

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the bound port'));
      });
    });
  });
}

/** Distinct free ports: ports found one after another could otherwise repeat. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; ports.size < count && i < count * 20; i += 1) ports.add(await freePort());
  if (ports.size < count) throw new Error(`could not find ${count} distinct free ports`);
  return [...ports];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** What is awaited, for the timeout message ("kube-apiserver /readyz"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before each attempt; a message here aborts the wait at once (e.g. the process died). */
  abort?: () => string | undefined;
}

/**
 * Polls `probe` until it returns a value other than undefined, at most `timeoutMs`. The last probe
 * error (or the abort reason) is part of the thrown message.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const reason = opts.abort?.();
    if (reason !== undefined) throw new Error(`${opts.what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err: unknown) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`${opts.what}: not ready after ${opts.timeoutMs} ms (last: ${last})`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

// ---------------------------------------------------------------------------------------------------
// Work directories owned by a process.

const OWNER_FILE = 'owner';
const KEEP_FILE = 'kept';

/** "pid starttime" of a live process: the start time guards against a recycled pid. */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counts from after the command name, which may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped) owns nothing any more.
    if (fields[0] === 'Z') return undefined;
    return `${pid} ${fields[19] ?? ''}`;
  } catch {
    return undefined;
  }
}

/**
 * Creates `<parent>/<prefix>XXXXXX` and records this process as its owner, after removing stale
 * directories with the same prefix whose owner is dead (a run that was SIGKILLed cannot clean up
 * after itself). Directories kept on purpose (PENETRATOR_KEEP_CLUSTER=1) are left alone.
 */
export function createOwnedDir(
  prefix: string,
  parent = tmpdir(),
  beforeRemove?: (dir: string) => void,
): string {
  removeStaleDirs(prefix, parent, beforeRemove);
  const dir = mkdtempSync(join(parent, prefix));
  writeFileSync(join(dir, OWNER_FILE), `${processIdentity(process.pid) ?? process.pid}\n`);
  return dir;
}

/** Marks a directory as kept on purpose so that stale-directory cleanup leaves it alone. */
export function markKept(dir: string): void {
  writeFileSync(join(dir, KEEP_FILE), 'kept for debugging; remove by hand\n');
}

/** Removes `<parent>/<prefix>*` directories whose owner process is gone. Returns the removed paths. */
export function removeStaleDirs(
  prefix: string,
  parent = tmpdir(),
  beforeRemove?: (dir: string) => void,
): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((e) => e.startsWith(prefix));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const dir = join(parent, entry);
    if (existsSync(join(dir, KEEP_FILE))) continue;
    let owner: string;
    try {
      owner = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
    } catch {
      continue; // Not ours, or still being created.
    }
    const pid = Number(owner.split(' ')[0]);
    if (!Number.isInteger(pid) || processIdentity(pid) === owner) continue;
    beforeRemove?.(dir);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
