import { spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runChecked, runInNetns, shellQuote, sleep } from './exec';
import type { EdgeMachine, MachineOptions } from './types';

/**
 * One edge machine: Debian's real sshd, run inside the machine's network namespace and a private mount
 * namespace. The mounts give the machine its own /etc/shadow (root's password), /root, /tmp,
 * /etc/kubernetes (the join state), /run/sshd, login records and a PATH directory with the stand-in
 * `edgeadm`, `kubeadm` and an arch-faking `uname`; none of it is visible to the host or to other
 * machines. sshd and the mounts refer to the machine's files through MACHINE_ROOT only, so the host
 * path of the work dir may hold any character.
 */

export interface MachinePlan {
  name: string;
  ip: string;
  netns: string;
  dir: string;
  options: MachineOptions;
}

const SSHD = '/usr/sbin/sshd';
/** Login records sshd may append to; each machine gets private empty copies of those the host has. */
const LOGIN_RECORDS = ['/var/log/btmp', '/var/log/wtmp', '/var/log/lastlog'];
/** Debian's sshd puts this first in root's PATH, so the stand-ins shadow any real tools. */
const PATH_DIR = '/usr/local/sbin';

/** Where the machine's own directory appears inside its mount namespace (on the private /run). */
const MACHINE_ROOT = '/run/penetrator-machine';

const joinCli = fileURLToPath(new URL('../edge/join-cli.ts', import.meta.url));
const tsxLoader = createRequire(import.meta.url).resolve('tsx');
/** The repository, as the machines see it: bind-mounted under their private /run, so that a
 * checkout under the host's /tmp stays reachable once the machine's own /tmp replaces it. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPO_MOUNT = '/run/penetrator-repo';

/** A host path inside the repository, as seen from inside a machine. */
function inMachine(path: string): string {
  const rel = relative(REPO_ROOT, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : join(REPO_MOUNT, rel);
}

function paths(dir: string) {
  return {
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    shadow: join(dir, 'shadow'),
    authorizedKeys: join(dir, 'authorized_keys'),
    config: join(dir, 'sshd_config'),
    startScript: join(dir, 'start.sh'),
    bin: join(dir, 'bin'),
    home: join(dir, 'home'),
    tmp: join(dir, 'tmp'),
    state: join(dir, 'state'),
    etcUpper: join(dir, 'etc-upper'),
    etcWork: join(dir, 'etc-work'),
    logs: join(dir, 'log'),
    pidFile: join(dir, 'sshd.pid'),
    sshdLog: join(dir, 'sshd.log'),
    startLog: join(dir, 'start.log'),
  };
}

async function shadowLine(options: MachineOptions): Promise<string> {
  // `!` locks the account (sshd then refuses every method); `*` only disables password login.
  let hash = options.refuseLogin ? '!' : '*';
  if (options.password !== undefined && !options.refuseLogin) {
    hash = (
      await runChecked(['openssl', 'passwd', '-6', '-stdin'], { input: `${options.password}\n` })
    ).trim();
  }
  return `root:${hash}:20000:0:99999:7:::\n`;
}

/** sshd reads its files through the namespace's view, so the host's /tmp may be hidden behind the machine's. */
export function sshdConfig(plan: MachinePlan): string {
  const p = paths(MACHINE_ROOT);
  const passwordLogin = plan.options.password !== undefined && !plan.options.refuseLogin;
  const lines = [
    `ListenAddress ${plan.ip}:22`,
    `HostKey ${p.hostKey}`,
    `PidFile ${p.pidFile}`,
    `AuthorizedKeysFile ${p.authorizedKeys}`,
    'PermitRootLogin yes',
    `PasswordAuthentication ${passwordLogin ? 'yes' : 'no'}`,
    'PubkeyAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // Paths are seen under MACHINE_ROOT on the private /run, so sshd's ownership checks hold as on a real host.
    'StrictModes yes',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'LogLevel VERBOSE',
    // OpenSSH 9's scp speaks SFTP: the installer's package copy needs this.
    'Subsystem sftp internal-sftp',
    'MaxStartups 64:30:128',
  ];
  if (plan.options.refuseLogin) lines.push('DenyUsers *');
  return `${lines.join('\n')}\n`;
}

function unameWrapper(arch: string): string {
  return `#!/bin/sh
# Reports the machine's simulated architecture; every other question goes to the real uname.
if [ "$#" -eq 1 ] && { [ "$1" = -m ] || [ "$1" = --machine ]; }; then
  printf '%s\\n' ${shellQuote(arch)}
  exit 0
fi
exec /usr/bin/uname "$@"
`;
}

function standInWrapper(profile: 'edgeadm' | 'kubeadm', joinDelayMs: number): string {
  return `#!/bin/sh
PENETRATOR_STAND_IN_JOIN_DELAY_MS=${joinDelayMs} exec ${shellQuote(inMachine(process.execPath))} --import ${shellQuote(pathToFileURL(inMachine(tsxLoader)).href)} ${shellQuote(inMachine(joinCli))} ${profile} "$@"
`;
}

/**
 * A private /tmp would hide node itself if it lived under the host's /tmp. The repository is remounted,
 * so only what lies outside it counts: a node binary from node_modules (the pinned Node.js 24) does not.
 */
function privateTmpPossible(): boolean {
  return ![inMachine(joinCli), inMachine(tsxLoader), inMachine(process.execPath)].some((path) =>
    path.startsWith('/tmp/'),
  );
}

function startScript(plan: MachinePlan): string {
  const p = paths(MACHINE_ROOT);
  const q = shellQuote;
  const overlay = `lowerdir=/etc,upperdir=${p.etcUpper},workdir=${p.etcWork}`;
  const recordMounts = LOGIN_RECORDS.filter((file) => existsSync(file)).map(
    (file) => `mount --bind ${q(join(p.logs, basename(file)))} ${q(file)}`,
  );
  return `#!/bin/sh
# Runs in the machine's network namespace, in a mount namespace of its own (unshare --mount
# --propagation private): these mounts are seen by this sshd and its sessions only, and vanish with them.
set -eu
# sshd's privilege separation directory; a private /run also keeps the host's runtime files out of reach.
mount -t tmpfs -o mode=0755,size=4m penetrator-run /run
mkdir -m 0755 /run/sshd
# The repository (the stand-in join commands) under a fixed path, read-only, before /tmp is replaced.
mkdir -m 0755 ${REPO_MOUNT}
mount --bind ${q(REPO_ROOT)} ${REPO_MOUNT}
mount -o remount,bind,ro ${REPO_MOUNT}
# The machine's directory under a fixed name, reachable even once /tmp is replaced below.
mkdir -m 0700 ${MACHINE_ROOT}
mount --bind ${q(plan.dir)} ${MACHINE_ROOT}
# A copy-on-write /etc: whatever a session writes there stays with this machine.
mount -t overlay -o ${q(overlay)} penetrator-etc /etc
mkdir -p /etc/kubernetes
mount --bind ${q(p.state)} /etc/kubernetes
mount --bind ${q(p.shadow)} /etc/shadow
mount --bind ${q(p.home)} /root
mount --bind ${q(p.bin)} ${PATH_DIR}
${recordMounts.join('\n')}
${privateTmpPossible() ? `mount --bind ${q(p.tmp)} /tmp` : '# the stand-in lives under /tmp: the host /tmp stays visible'}
exec ${SSHD} -D -f ${q(p.config)} -E ${q(p.sshdLog)}
`;
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

/** Writes keys, shadow, sshd_config, the stand-in tools and the start script of one machine. */
export async function prepareMachine(plan: MachinePlan): Promise<EdgeMachine> {
  const p = paths(plan.dir);
  const arch = plan.options.arch ?? 'x86_64';
  for (const dir of [plan.dir, p.bin, p.state, p.etcUpper, p.etcWork, p.logs])
    mkdirSync(dir, { recursive: true });
  mkdirSync(p.home, { recursive: true, mode: 0o700 });
  mkdirSync(p.tmp, { recursive: true });
  // Sticky and world-writable, like any /tmp (mkdir's mode is filtered by the umask).
  chmodSync(p.tmp, 0o1777);
  for (const file of LOGIN_RECORDS) writeFileSync(join(p.logs, basename(file)), '');

  await runChecked(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', plan.name, '-f', p.hostKey]);
  const publicKey = readFileSync(`${p.hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const fingerprint = (
    await runChecked(['ssh-keygen', '-l', '-E', 'sha256', '-f', `${p.hostKey}.pub`])
  ).split(/\s+/)[1];
  if (!fingerprint || publicKey.length < 2) throw new Error(`cannot read the host key of ${plan.name}`);

  writeFileSync(p.shadow, await shadowLine(plan.options), { mode: 0o600 });
  writeFileSync(
    p.authorizedKeys,
    (plan.options.authorizedKeys ?? []).map((key) => `${key.trim()}\n`).join(''),
    {
      mode: 0o600,
    },
  );
  writeFileSync(p.config, sshdConfig(plan));
  writeExecutable(join(p.bin, 'uname'), unameWrapper(arch));
  const joinDelayMs = Math.max(0, Math.trunc(plan.options.joinDelayMs ?? 0));
  writeExecutable(join(p.bin, 'edgeadm'), standInWrapper('edgeadm', joinDelayMs));
  writeExecutable(join(p.bin, 'kubeadm'), standInWrapper('kubeadm', joinDelayMs));
  writeExecutable(p.startScript, startScript(plan));

  return {
    name: plan.name,
    ip: plan.ip,
    netns: plan.netns,
    arch,
    hostKeyFingerprint: fingerprint,
    knownHostsLine: `${plan.ip} ${publicKey[0]} ${publicKey[1]}`,
    workDir: plan.dir,
    stateDir: p.state,
    joinJournal: join(p.state, 'stand-in-joins.jsonl'),
  };
}

/** Starts the machine's sshd; resolves to its pid (ip, unshare and sh all exec, so it is sshd's own). */
export function startSshd(plan: MachinePlan): { pid: number; exited: () => boolean } {
  const p = paths(plan.dir);
  const log = openSync(p.startLog, 'a');
  try {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        plan.netns,
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '/bin/sh',
        p.startScript,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    if (child.pid === undefined) throw new Error(`cannot start sshd of ${plan.name}`);
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    // The network's stop() and exit hooks end sshd; a forgotten stop() must not keep the runner alive.
    child.unref();
    return { pid: child.pid, exited: () => exited };
  } finally {
    closeSync(log);
  }
}

/** Waits (bounded) until sshd answers with its banner when dialled from the site's proxy namespace. */
export async function waitForSshd(
  plan: MachinePlan,
  fromNetns: string,
  sshd: { exited: () => boolean },
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = ['timeout', '2', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/22" && head -c 4 <&3', 'probe', plan.ip];
  while (Date.now() < deadline) {
    if (sshd.exited()) break;
    const result = await runInNetns(fromNetns, probe, { timeoutMs: 5_000 });
    if (result.code === 0 && result.stdout === 'SSH-') return;
    await sleep(100);
  }
  const p = paths(plan.dir);
  const tail = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8').slice(-1500) : '');
  throw new Error(
    `sshd of ${plan.name} (${plan.ip}) did not answer from ${fromNetns} within ${timeoutMs} ms` +
      `${sshd.exited() ? ' (it exited)' : ''}:\n${tail(p.startLog)}${tail(p.sshdLog)}`,
  );
}
