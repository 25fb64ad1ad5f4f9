/**
 * Mount targets for bind mounts. A bind mount needs an existing file or directory at its target, and a
 * private mount namespace does not make directories private: creating `/etc/penetrator` creates it on
 * the host. So missing targets are created as empty placeholders and removed when no pod needs them.
 *
 * Several kubelets (in this process or in other test processes on the machine) may use the same
 * target, e.g. `/dev/termination-log`. Removing a placeholder that another namespace has mounted on
 * detaches that mount, so uses are registered machine-wide: one file per use in a registry directory,
 * tagged with the owning process (ignored once that process is dead), and a marker per placeholder.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { processIdentity } from '../process';

/** Name of the file in a kubelet's work dir that lists every placeholder it created. */
export const PLACEHOLDERS_FILE = 'placeholders';

type Kind = 'dir' | 'file';

export interface MountPointLease {
  readonly target: string;
  readonly token: string;
}

const registryDir = (): string => join(tmpdir(), 'penetrator-mount-points');
const keyOf = (path: string): string => createHash('sha256').update(path).digest('hex').slice(0, 24);
const markerOf = (path: string): string => join(registryDir(), `${keyOf(path)}.placeholder`);

let sequence = 0;

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: string }).code === code;
}

/** Whether a live process has registered a use of exactly `path`. Uses of dead processes are dropped. */
function hasLiveUsers(path: string): boolean {
  const prefix = `${keyOf(path)}.use.`;
  let live = false;
  for (const name of readdirSync(registryDir())) {
    if (!name.startsWith(prefix)) continue;
    const file = join(registryDir(), name);
    try {
      const owner = readFileSync(file, 'utf8').trim();
      if (processIdentity(Number(owner.split(' ')[0])) === owner) live = true;
      else unlinkSync(file);
    } catch {
      // Released meanwhile.
    }
  }
  return live;
}

function create(path: string, kind: Kind): void {
  if (kind === 'file') writeFileSync(path, '', { mode: 0o644, flag: 'wx' });
  else mkdirSync(path, { mode: 0o755 });
}

function removeIfEmpty(path: string, kind: Kind): boolean {
  try {
    if (kind === 'dir') rmdirSync(path);
    else if (statSync(path).size === 0) unlinkSync(path);
    else return false;
    return true;
  } catch {
    return false; // Not empty, or gone: not ours to remove any more.
  }
}

/**
 * Walks up from `target` through placeholders and removes each one nobody uses. A use registered
 * while we removed it gets the placeholder back at once, so its mount still finds a target.
 */
function removeUnusedPlaceholders(target: string): void {
  for (let p = target; p !== '/' && existsSync(markerOf(p)); p = dirname(p)) {
    if (hasLiveUsers(p)) return;
    const kind = readFileSync(markerOf(p), 'utf8').split('\n')[0] === 'file' ? 'file' : 'dir';
    if (!removeIfEmpty(p, kind)) return;
    unlinkSync(markerOf(p));
    if (hasLiveUsers(p)) {
      create(p, kind);
      writeFileSync(markerOf(p), `${kind}\n${p}\n`);
      return;
    }
  }
}

export class MountPoints {
  private readonly leases = new Set<MountPointLease>();

  /** @param recordPath every placeholder is also listed here, for cleanup after a crash. */
  constructor(private readonly recordPath?: string) {}

  /** Registers a use of `target` and makes sure it exists as `kind`. */
  acquire(target: string, kind: Kind): MountPointLease {
    mkdirSync(registryDir(), { recursive: true, mode: 0o700 });
    // The use is registered before the target is checked, so nobody removes it in between.
    const token = join(registryDir(), `${keyOf(target)}.use.${process.pid}.${(sequence += 1)}`);
    writeFileSync(token, `${processIdentity(process.pid) ?? process.pid}\n`);
    const lease = { target, token };
    this.leases.add(lease);
    try {
      this.ensureExists(target, kind);
    } catch (err: unknown) {
      this.release([lease]);
      throw err;
    }
    return lease;
  }

  private ensureExists(target: string, kind: Kind): void {
    // A retry covers an ancestor placeholder removed by another kubelet while we were creating below it.
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.createMissing(target, kind);
        return;
      } catch (err: unknown) {
        if (!isCode(err, 'ENOENT') || attempt >= 3) throw err;
      }
    }
  }

  private createMissing(target: string, kind: Kind): void {
    const missing: string[] = [];
    for (let p = target; !existsSync(p); p = dirname(p)) missing.unshift(p);
    if (missing.length === 0) {
      const isDir = statSync(target).isDirectory();
      if (isDir !== (kind === 'dir')) {
        throw new Error(
          `mount target ${target} exists but is a ${isDir ? 'directory' : 'file'}, not a ${kind}`,
        );
      }
      return;
    }
    missing.forEach((p, i) => {
      const k: Kind = i === missing.length - 1 ? kind : 'dir';
      try {
        create(p, k);
      } catch (err: unknown) {
        if (isCode(err, 'EEXIST')) return; // Another kubelet made it at the same moment; it marks it.
        throw err;
      }
      writeFileSync(markerOf(p), `${k}\n${p}\n`);
      if (this.recordPath !== undefined) appendFileSync(this.recordPath, `${p}\n`);
    });
  }

  /** Ends these uses; placeholders nobody uses any more are removed, deepest first. */
  release(leases: readonly MountPointLease[]): void {
    for (const lease of leases) {
      if (!this.leases.delete(lease)) continue;
      try {
        unlinkSync(lease.token);
      } catch {
        // Already gone.
      }
      removeUnusedPlaceholders(lease.target);
    }
  }

  /** Ends every use still held (kubelet stop). */
  releaseAll(): void {
    this.release([...this.leases]);
  }
}

/**
 * Removes the placeholders listed in a dead kubelet's record that no live process uses (its own uses
 * died with it).
 */
export function removeRecordedPlaceholders(recordPath: string): void {
  let paths: string[];
  try {
    paths = readFileSync(recordPath, 'utf8')
      .split('\n')
      .filter((p) => p.startsWith('/'));
  } catch {
    return;
  }
  if (!existsSync(registryDir())) return;
  for (const p of [...new Set(paths)].sort((a, b) => b.length - a.length)) removeUnusedPlaceholders(p);
}
