/**
 * Where a running sandbox is recorded. One sandbox per machine: its site subnet is routed from the
 * host, so a second one would collide. The owner file (pid and process start time, created
 * exclusively) says who holds it — the `sandbox up` supervisor or a running demo; the state file says
 * how to use it. Both hold paths and addresses only: the password stays in the 0600 credential file.
 */
import {
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface SandboxState {
  /** Pid of the process that keeps the sandbox (the supervisor). */
  pid: number;
  startedAt: string;
  kubeconfigPath: string;
  /** Directory holding the credential file `login-secret.yaml` (mode 0600); pass it as --credential. */
  credentialPath: string;
  /** The install package the proxy node's Jobs read through a hostPath; pass it as --package. */
  packagePath: string;
  proxyNode: string;
  subnet: string;
  machines: string[];
  logPath: string;
  /** Temp dirs of the sandbox (credential, control plane, kubelet), for the record and for cleanup. */
  workDirs: string[];
  /** Id of the edge network: its namespaces are named pn-<id>-…. */
  networkId: string;
}

export interface SandboxOwner {
  pid: number;
  /** Start time of the process (field 22 of /proc/<pid>/stat): a reused pid is not the owner. */
  start: string;
  role: 'supervisor' | 'demo';
}

/** Root uses /run (gone at reboot, as the sandbox is); others their runtime dir or /tmp. */
export function sandboxStateDir(
  env: NodeJS.ProcessEnv = process.env,
  isRoot = process.getuid?.() === 0,
): string {
  if (env.PENETRATOR_SANDBOX_DIR) return env.PENETRATOR_SANDBOX_DIR;
  if (isRoot) return '/run/penetrator-sandbox';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'penetrator-sandbox');
  return '/tmp/penetrator-sandbox';
}

export const statePaths = (dir: string) => ({
  owner: join(dir, 'owner.json'),
  state: join(dir, 'state.json'),
  log: join(dir, 'supervisor.log'),
});

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after the last ')' do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function ownerAlive(owner: SandboxOwner): boolean {
  return processStartTime(owner.pid) === owner.start;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readOwner(dir: string): SandboxOwner | undefined {
  return readJson<SandboxOwner>(statePaths(dir).owner);
}

export function readState(dir: string): SandboxState | undefined {
  return readJson<SandboxState>(statePaths(dir).state);
}

/** Thrown when another live process holds the sandbox; the message names it. */
export class SandboxBusyError extends Error {
  override readonly name = 'SandboxBusyError';
  constructor(readonly owner: SandboxOwner) {
    super(
      owner.role === 'demo'
        ? `a penetrator demo (pid ${owner.pid}) is running its sandbox; wait for it or stop it with Ctrl-C`
        : `a sandbox is running (supervisor pid ${owner.pid}); stop it first with: penetrator sandbox down`,
    );
  }
}

/**
 * Makes this process the sandbox's owner, or throws SandboxBusyError naming the live one. An owner
 * file left by a dead process is taken over.
 */
export function acquireOwnership(dir: string, role: SandboxOwner['role']): SandboxOwner {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me: SandboxOwner = { pid: process.pid, start: processStartTime(process.pid) ?? '', role };
  const path = statePaths(dir).owner;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      // 'wx': exclusive create, so two processes starting at once cannot both win.
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      return me;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(dir);
      if (owner && ownerAlive(owner)) throw new SandboxBusyError(owner);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot take ${path}: another process keeps creating it`);
}

/** Gives ownership up, only if this process still holds it. */
export function releaseOwnership(dir: string): void {
  const owner = readOwner(dir);
  if (owner?.pid === process.pid) rmSync(statePaths(dir).owner, { force: true });
}

export function writeState(dir: string, state: SandboxState): void {
  const path = statePaths(dir).state;
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function clearState(dir: string): void {
  rmSync(statePaths(dir).state, { force: true });
}
