import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GO_DIR, missingPrerequisites, systemProbe, type Probe } from '../../../cli/sandbox/prerequisites';

/** A machine described by what it has: root or not, and which executables exist where. */
function machine(opts: { root?: boolean; path?: string[]; files?: string[] }): Probe {
  const files = new Set(opts.files ?? []);
  const path = opts.path ?? [];
  return {
    isRoot: () => opts.root ?? true,
    isExecutable: (file) => files.has(file),
    findExecutable: (name, extraDirs = []) =>
      [...path, ...extraDirs].map((d) => `${d}/${name}`).find((f) => files.has(f)),
  };
}

const EVERYTHING = ['ip', 'sshd', 'sshpass', 'ssh', 'go', 'nft', 'setpriv', 'unshare', 'openssl'].map((n) =>
  n === 'sshd' ? '/usr/sbin/sshd' : `/usr/bin/${n}`,
);

describe('demo prerequisites', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reports nothing on a machine that has everything', () => {
    expect(missingPrerequisites(machine({ path: ['/usr/bin'], files: EVERYTHING }))).toEqual([]);
  });

  it('reports each missing piece on one line with the command that fixes it', () => {
    const lines = missingPrerequisites(machine({ root: false, path: ['/usr/bin'], files: [] }));

    expect(lines).toEqual([
      'missing: not running as root: the sandbox creates network namespaces and host routes — fix: sudo npm start (or sudo node cli/bin/penetrator.js …)',
      'missing: `ip` not found in PATH — fix: apt-get install -y iproute2',
      'missing: /usr/sbin/sshd not found (the edge machines are real sshd processes) — fix: apt-get install -y openssh-server',
      'missing: `sshpass` not found in PATH (the install script logs in with a password) — fix: apt-get install -y sshpass',
      'missing: `ssh` not found in PATH — fix: apt-get install -y openssh-client',
      `missing: \`go\` not found in PATH or ${GO_DIR} (it builds the control-plane binaries) — fix: apt-get install -y golang-go (or unpack Go from go.dev/dl into /usr/local/go)`,
      'missing: `nft` not found in PATH (each site router has an nftables ruleset) — fix: apt-get install -y nftables',
      'missing: `setpriv` or `unshare` not found in PATH — fix: apt-get install -y util-linux',
      'missing: `openssl` not found in PATH (it hashes the machines’ root password) — fix: apt-get install -y openssl',
    ]);
  });

  it('finds go in /usr/local/go/bin when PATH lacks it, and sshd only at /usr/sbin/sshd', () => {
    const files = EVERYTHING.filter((f) => !f.endsWith('/go') && f !== '/usr/sbin/sshd').concat([
      `${GO_DIR}/go`,
      '/usr/bin/sshd',
    ]);
    const lines = missingPrerequisites(machine({ path: ['/usr/bin'], files }));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^missing: \/usr\/sbin\/sshd not found .* fix: apt-get install -y openssh-server$/,
    );
  });

  it('the system probe looks through PATH for executable files only', () => {
    dir = mkdtempSync(join(tmpdir(), 'penetrator-probe-'));
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    writeFileSync(join(dir, 'data'), 'not a program');
    chmodSync(join(dir, 'data'), 0o644);
    const probe = systemProbe({ PATH: `/nonexistent:${dir}` });

    expect(probe.findExecutable('tool')).toBe(join(dir, 'tool'));
    expect(probe.findExecutable('data')).toBeUndefined();
    expect(probe.findExecutable('absent')).toBeUndefined();
    expect(systemProbe({ PATH: '' }).findExecutable('tool', [dir])).toBe(join(dir, 'tool'));
  });
});
