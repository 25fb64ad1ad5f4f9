/**
 * A sandbox that outlives the command that started it. `sandbox up` spawns a detached supervisor
 * (`penetrator sandbox supervise`, its output to a log file under the state dir); the supervisor
 * starts the sandbox, whose processes die with it, writes the state file and waits for a signal.
 * `sandbox down` signals it and waits until it is gone, then sweeps whatever a killed supervisor
 * could have left.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestEnvironment } from '../../sandbox/env';
import { removeStaleKubeletDirs } from '../../sandbox/kubelet';
import { sweepStale } from '../../sandbox/network/registry';
import { removeStaleDirs, sleep, tailFile } from '../../sandbox/process';
import { CliError } from '../output';
import {
  createWorkDir,
  generatePassword,
  startSandboxEnvironment,
  stopSandbox,
  writeCredential,
  type SandboxOptions,
} from './environment';
import {
  acquireOwnership,
  clearState,
  ownerAlive,
  readOwner,
  readState,
  releaseOwnership,
  SandboxBusyError,
  statePaths,
  writeState,
  type SandboxOwner,
  type SandboxState,
} from './state';

const BIN = fileURLToPath(new URL('../bin/penetrator.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Start is about 10 s here; tsx compiling the CLI and a busy machine can take much longer. */
const READY_TIMEOUT_MS = 180_000;
/** Stop is a few seconds; the supervisor itself gives up on a hung component after 60 s. */
const STOP_TIMEOUT_MS = 90_000;
const KILL_WAIT_MS = 5_000;
const POLL_MS = 250;

/** The sandbox's record: everything needed to use it and to clean it up, and no secret. */
export function sandboxState(
  env: TestEnvironment,
  options: SandboxOptions,
  paths: { credentialPath: string; workDir: string; logPath: string },
): SandboxState {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    // The product's own identity, bound to the shipped RBAC, as an operator registers it.
    kubeconfigPath: env.product.kubeconfigPath,
    credentialPath: paths.credentialPath,
    packagePath: env.installPackagePath,
    proxyNode: options.proxyNode,
    subnet: options.subnet,
    machines: [...options.machines],
    logPath: paths.logPath,
    // The package's temp dir too: a killed supervisor leaves it, and down removes it.
    workDirs: [paths.workDir, env.cp.dir, env.kubelet.workDir, dirname(env.installPackagePath)],
    networkId: env.network.id,
  };
}

function logLine(message: string): void {
  process.stdout.write(`[${new Date().toISOString()}] ${message}\n`);
}

/** The supervisor's body; returns its exit code. Runs in the detached process. */
export async function superviseSandbox(options: SandboxOptions, stateDir: string): Promise<number> {
  try {
    acquireOwnership(stateDir, 'supervisor');
  } catch (error) {
    logLine(error instanceof Error ? error.message : String(error));
    return 1;
  }
  let wake = (): void => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    logLine(`received ${signal}: stopping the sandbox`);
    stopping = true;
    wake();
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
  // A pending promise alone does not keep Node running; this timer does, until the signal.
  const keepAlive = setInterval(() => undefined, 60_000);
  let env: TestEnvironment | undefined;
  let workDir: string | undefined;
  try {
    workDir = createWorkDir();
    const password = generatePassword();
    const credentialPath = writeCredential(workDir, password, options.subnet);
    logLine(`starting the sandbox: site ${options.subnet}, machines ${options.machines.join(' ')}`);
    env = await startSandboxEnvironment(options, password);
    if (!stopping) {
      const logPath = statePaths(stateDir).log;
      writeState(stateDir, sandboxState(env, options, { credentialPath, workDir, logPath }));
      logLine(`sandbox ready: kubeconfig ${env.product.kubeconfigPath}`);
      await stopRequested;
    }
    return 0;
  } catch (error) {
    logLine(`the sandbox failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    clearInterval(keepAlive);
    // The state goes first: from here on nobody should use the sandbox.
    clearState(stateDir);
    await stopSandbox(env, workDir).catch((error: unknown) =>
      logLine(`stopping failed: ${error instanceof Error ? error.message : String(error)}`),
    );
    releaseOwnership(stateDir);
    logLine('sandbox stopped');
  }
}

/** Refuses (naming the pid) when a live process holds the sandbox: one sandbox per machine. */
export function assertNoSandbox(stateDir: string): void {
  const owner = readOwner(stateDir);
  if (owner && ownerAlive(owner)) throw new CliError(new SandboxBusyError(owner).message);
}

/**
 * Spawns the detached supervisor and waits (bounded) until it has written the state file. On failure
 * or timeout the supervisor is stopped and the error carries the tail of its log.
 */
export async function startSupervisor(options: SandboxOptions, stateDir: string): Promise<SandboxState> {
  assertNoSandbox(stateDir);
  const paths = statePaths(stateDir);
  // A fresh log per sandbox: the tail in an error message must be this supervisor's.
  rmSync(paths.log, { force: true });
  const fd = openSync(paths.log, 'a', 0o600);
  let pid: number | undefined;
  try {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'sandbox',
        'supervise',
        '--subnet',
        options.subnet,
        '--proxy-node',
        options.proxyNode,
        '--addresses',
        options.machines.join(','),
      ],
      {
        cwd: ROOT,
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, PENETRATOR_SANDBOX_DIR: stateDir },
      },
    );
    child.once('error', () => undefined);
    pid = child.pid;
    child.unref();
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new CliError(`cannot start the sandbox supervisor (${process.execPath})`);
  return waitUntilReady(pid, stateDir);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilReady(pid: number, stateDir: string): Promise<SandboxState> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const log = statePaths(stateDir).log;
  while (Date.now() < deadline) {
    const state = readState(stateDir);
    if (state?.pid === pid) return state;
    if (!processExists(pid)) {
      throw new CliError(
        `the sandbox supervisor (pid ${pid}) exited before the sandbox was ready; its log:\n${tailFile(log, 15)}`,
      );
    }
    await sleep(POLL_MS);
  }
  await stopSupervisor(stateDir).catch(() => undefined);
  throw new CliError(
    `the sandbox was not ready within ${READY_TIMEOUT_MS / 1000} s and was stopped; its log:\n${tailFile(log, 15)}`,
  );
}

export type StopOutcome =
  | { kind: 'none' }
  /** The supervisor had died (killed, machine trouble); what it left was swept. */
  | { kind: 'swept'; pid: number }
  | { kind: 'stopped'; pid: number; forced: boolean };

/**
 * Signals the supervisor, waits (bounded) until it has exited, kills it if it hangs, and then sweeps
 * what a killed supervisor leaves: namespaces, routes and temp dirs of dead owners.
 */
export async function stopSupervisor(stateDir: string): Promise<StopOutcome> {
  const owner = readOwner(stateDir);
  const state = readState(stateDir);
  if (owner?.role === 'demo' && ownerAlive(owner)) {
    throw new CliError(
      `the sandbox belongs to a running penetrator demo (pid ${owner.pid})`,
      undefined,
      'stop the demo with Ctrl-C in its terminal; it tears its sandbox down itself',
    );
  }
  if (!owner || !ownerAlive(owner)) {
    sweepLeftovers(stateDir, state);
    const pid = owner?.pid ?? state?.pid;
    return pid === undefined ? { kind: 'none' } : { kind: 'swept', pid };
  }
  process.kill(owner.pid, 'SIGTERM');
  let forced = false;
  if (!(await waitForExit(owner, STOP_TIMEOUT_MS))) {
    forced = true;
    process.kill(owner.pid, 'SIGKILL');
    await waitForExit(owner, KILL_WAIT_MS);
  }
  sweepLeftovers(stateDir, state);
  return { kind: 'stopped', pid: owner.pid, forced };
}

async function waitForExit(owner: SandboxOwner, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!ownerAlive(owner)) return true;
    await sleep(POLL_MS);
  }
  return !ownerAlive(owner);
}

/**
 * After the owner is gone: the edge network's own sweep (namespaces, host links and routes of dead
 * owners), the stale control-plane and kubelet dirs, the sandbox's temp dirs and its state files.
 */
function sweepLeftovers(stateDir: string, state: SandboxState | undefined): void {
  sweepStale();
  removeStaleDirs('penetrator-cp-');
  removeStaleKubeletDirs();
  for (const dir of state?.workDirs ?? []) {
    // Only our own temp dirs, whatever the state file says.
    if (basename(dir).startsWith('penetrator-') && existsSync(dir))
      rmSync(dir, { recursive: true, force: true });
  }
  const paths = statePaths(stateDir);
  rmSync(paths.state, { force: true });
  const owner = readOwner(stateDir);
  if (owner && !ownerAlive(owner)) rmSync(paths.owner, { force: true });
}
