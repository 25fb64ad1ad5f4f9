/**
 * Mount targets for bind mounts. A bind mount needs an existing file or directory at the target, and
 * a private mount namespace does not make directories private: creating `/etc/penetrator` creates it
 * on the host. So missing targets are created as empty placeholders, counted per user, and removed
 * (deepest first) when the last pod that needed them is done.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

export class MountPoints {
  /** Placeholders this kubelet created, with how many pods use each. */
  private readonly created = new Map<string, { users: number; kind: 'dir' | 'file' }>();

  /**
   * @param recordPath every placeholder is also appended here, so that a later run can remove the
   *   placeholders of a kubelet that was killed before it could (see removeRecordedPaths).
   */
  constructor(private readonly recordPath?: string) {}

  /** Makes sure `target` exists as `kind`; returns the paths this call created (to release later). */
  acquire(target: string, kind: 'dir' | 'file'): string[] {
    const missing: string[] = [];
    for (let p = target; !existsSync(p); p = dirname(p)) missing.unshift(p);
    if (missing.length === 0) {
      const isDir = statSync(target).isDirectory();
      if (isDir !== (kind === 'dir')) {
        throw new Error(
          `mount target ${target} exists but is a ${isDir ? 'directory' : 'file'}, not a ${kind}`,
        );
      }
    }
    missing.forEach((p, i) => {
      const last = i === missing.length - 1;
      if (last && kind === 'file') writeFileSync(p, '', { mode: 0o644 });
      else mkdirSync(p, { mode: 0o755 });
      this.created.set(p, { users: 0, kind: last ? kind : 'dir' });
      if (this.recordPath !== undefined) appendFileSync(this.recordPath, `${p}\n`);
    });
    // Every placeholder on the way counts this user, including ones another pod created.
    const used: string[] = [];
    for (let p = target; this.created.has(p); p = dirname(p)) {
      const entry = this.created.get(p)!;
      entry.users += 1;
      used.push(p);
    }
    return used;
  }

  /** Drops one use of each path; removes placeholders nobody uses any more. */
  release(paths: readonly string[]): void {
    // Deepest first, so that a directory is empty when its turn comes.
    for (const p of [...paths].sort((a, b) => b.length - a.length)) {
      const entry = this.created.get(p);
      if (entry === undefined) continue;
      entry.users -= 1;
      if (entry.users > 0) continue;
      this.created.delete(p);
      try {
        if (entry.kind === 'file') unlinkSync(p);
        else rmdirSync(p);
      } catch {
        // Not empty (something else wrote there) or already gone: leave it.
      }
    }
  }

  /** Removes every placeholder still recorded (kubelet stop). */
  releaseAll(): void {
    const all = [...this.created.keys()];
    for (const p of all) {
      const entry = this.created.get(p);
      if (entry) entry.users = 1;
    }
    this.release(all);
  }
}
