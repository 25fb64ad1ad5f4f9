/**
 * What the sandbox needs from the machine: root (it creates network namespaces and host routes) and
 * the tools the edge network, the machines and the install script run. Each missing one is reported
 * as one line with the command that fixes it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Go's official tarball installs; build-binaries.sh looks there too. */
export const GO_DIR = '/usr/local/go/bin';

export interface Probe {
  isRoot(): boolean;
  /** The executable's path when found in PATH or `extraDirs`, else undefined. */
  findExecutable(name: string, extraDirs?: readonly string[]): string | undefined;
  /** Whether this exact path is an executable file. */
  isExecutable(path: string): boolean;
}

interface Requirement {
  what: string;
  present(probe: Probe): boolean;
  /** What is missing, as the user reads it. */
  missing: string;
  fix: string;
}

const inPath =
  (name: string, extraDirs: readonly string[] = []) =>
  (probe: Probe): boolean =>
    probe.findExecutable(name, extraDirs) !== undefined;

const REQUIREMENTS: readonly Requirement[] = [
  {
    what: 'root',
    present: (probe) => probe.isRoot(),
    missing: 'not running as root: the sandbox creates network namespaces and host routes',
    fix: 'sudo npm start (or sudo node cli/bin/penetrator.js …)',
  },
  {
    what: 'ip',
    present: inPath('ip'),
    missing: '`ip` not found in PATH',
    fix: 'apt-get install -y iproute2',
  },
  {
    what: 'sshd',
    present: (probe) => probe.isExecutable('/usr/sbin/sshd'),
    missing: '/usr/sbin/sshd not found (the edge machines are real sshd processes)',
    fix: 'apt-get install -y openssh-server',
  },
  {
    what: 'sshpass',
    present: inPath('sshpass'),
    missing: '`sshpass` not found in PATH (the install script logs in with a password)',
    fix: 'apt-get install -y sshpass',
  },
  {
    what: 'ssh',
    present: inPath('ssh'),
    missing: '`ssh` not found in PATH',
    fix: 'apt-get install -y openssh-client',
  },
  {
    what: 'go',
    present: inPath('go', [GO_DIR]),
    missing: `\`go\` not found in PATH or ${GO_DIR} (it builds the control-plane binaries)`,
    fix: 'apt-get install -y golang-go (or unpack Go from go.dev/dl into /usr/local/go)',
  },
  {
    what: 'nft',
    present: inPath('nft'),
    missing: '`nft` not found in PATH (each site router has an nftables ruleset)',
    fix: 'apt-get install -y nftables',
  },
  {
    what: 'setpriv',
    present: (probe) => inPath('setpriv')(probe) && inPath('unshare')(probe),
    missing: '`setpriv` or `unshare` not found in PATH',
    fix: 'apt-get install -y util-linux',
  },
  {
    what: 'openssl',
    present: inPath('openssl'),
    missing: '`openssl` not found in PATH (it hashes the machines’ root password)',
    fix: 'apt-get install -y openssl',
  },
];

/** One line per missing prerequisite, `missing: <what> — fix: <command>`; empty when all are there. */
export function missingPrerequisites(probe: Probe): string[] {
  return REQUIREMENTS.filter((r) => !r.present(probe)).map((r) => `missing: ${r.missing} — fix: ${r.fix}`);
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The probe of this machine and process. */
export function systemProbe(env: NodeJS.ProcessEnv = process.env): Probe {
  return {
    isRoot: () => process.getuid?.() === 0,
    isExecutable: isExecutableFile,
    findExecutable(name, extraDirs = []) {
      const dirs = [...(env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...extraDirs];
      return dirs.map((dir) => join(dir, name)).find(isExecutableFile);
    },
  };
}
