import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finalFailureOf } from '../../../lambdas/domain/final-failures';
import { paramsFile } from '../../../lambdas/domain/script-config-map';

const SCRIPT = resolve(import.meta.dirname, '../../../installer/install.sh');
const REMOTE = resolve(import.meta.dirname, '../../../installer/remote.sh');
const STUBS = resolve(import.meta.dirname, 'stubs');
const TIMEOUT_MS = 20_000;
const TOKEN = 'abcdef.0123456789abcdef';
const CA_HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The kubeadm JoinConfiguration the target's installer reads the token from. */
function joinConfiguration(node = 'edge-abc123'): string {
  return [
    'apiVersion: kubeadm.k8s.io/v1beta3',
    'kind: JoinConfiguration',
    'discovery:',
    '  bootstrapToken:',
    '    apiServerEndpoint: "198.18.0.1:6443"',
    `    token: "${TOKEN}"`,
    '    caCertHashes:',
    `      - "${CA_HASH}"`,
    'nodeRegistration:',
    `  name: "${node}"`,
    '',
  ].join('\n');
}

/** Waits (bounded: 15 s, then fails) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`still not so after 15 s: ${condition.toString()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a snippet with the script's functions loaded (PENETRATOR_LIB_ONLY) in POSIX sh. */
function withFunctions(snippet: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('sh', ['-c', `PENETRATOR_LIB_ONLY=1 . "$SCRIPT"; ${snippet}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SCRIPT, ...env },
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
}

describe('install.sh static checks', () => {
  it.each([SCRIPT, REMOTE])('%s parses as POSIX sh', (file) => {
    const result = spawnSync('sh', ['-n', file], { encoding: 'utf8', timeout: TIMEOUT_MS });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('is shellcheck clean, stubs included', () => {
    const files = [
      SCRIPT,
      REMOTE,
      join(STUBS, 'ssh'),
      join(STUBS, 'scp'),
      join(STUBS, 'sshpass'),
      join(STUBS, 'remote/edgeadm'),
      join(STUBS, 'remote/uname'),
    ];
    const result = spawnSync('shellcheck', ['-s', 'sh', ...files], { encoding: 'utf8', timeout: TIMEOUT_MS });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'shellcheck is not installed: run `apt-get install -y shellcheck` (.ci/run installs it)',
      );
    }
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('sq (single-quote escaping)', () => {
  const hostile = [
    '',
    "'",
    "''",
    "'\\''",
    'plain',
    '$(touch "$MARKER")',
    '`touch "$MARKER"`',
    '; touch "$MARKER"; #',
    '" ; touch "$MARKER" ; "',
    'a\nb\n\n',
    '\\',
    '*',
    '-n',
    '$HOME ${PATH} $1',
    'ümlaut ✓ 中文',
    "it's 'quoted' \"twice\"",
  ];

  it.each(hostile)('round-trips %j through a shell command line', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'sq-'));
    const marker = join(dir, 'pwned');
    try {
      // The quoted word is pasted into a command line that a second shell parses, as ssh does remotely.
      const result = withFunctions('sh -c "printf %s $(sq "$VALUE")"', { VALUE: value, MARKER: marker });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(value);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('read_params', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'params-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function readParams(text: string): SpawnSyncReturns<string> {
    const file = join(dir, 'params');
    writeFileSync(file, text);
    return withFunctions(
      'read_params "$FILE" && printf "%s|%s|%s|%s" "$P_SERVER" "$P_CA_HASH" "$P_PACKAGE" "$P_PACKAGE_URL"',
      { FILE: file, MARKER: join(dir, 'pwned'), PENETRATOR_TERMINATION_LOG: join(dir, 'termination') },
    );
  }

  it('reads KEY=value lines, keeping values verbatim', () => {
    const result = readParams(
      `# join parameters\nSERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=/opt/p/edgeadm-{arch}.tgz\nPACKAGE_URL=https://x.test/a?b=c&d=$(e)\nFUTURE=1\n`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `198.18.0.1:6443|${CA_HASH}|/opt/p/edgeadm-{arch}.tgz|https://x.test/a?b=c&d=$(e)`,
    );
    expect(result.stderr).toBe('params: ignoring unknown key FUTURE\n');
  });

  it('accepts a file without a final newline and an IPv6 server', () => {
    const result = readParams(`SERVER=[2001:db8::1]:6443\nCA_HASH=${CA_HASH}`);
    expect(result.stdout).toBe(`[2001:db8::1]:6443|${CA_HASH}||`);
  });

  it.each([
    ['SERVER=$(touch "$MARKER")', 'params: SERVER "$(touch "$MARKER")" is not host:port'],
    ['SERVER=`touch "$MARKER"`:6443', 'params: SERVER "`touch "$MARKER"`:6443" is not host:port'],
    ['SERVER=198.18.0.1:6443;touch x', 'params: SERVER "198.18.0.1:6443;touch x" is not host:port'],
    ['SERVER=198.18.0.1', 'params: SERVER "198.18.0.1" is not host:port'],
    ['SERVER=198.18.0.1:6443\nCA_HASH=sha256:$(reboot)', 'params: CA_HASH is not sha256:<64 hex digits>'],
    ['SERVER=198.18.0.1:6443\nCA_HASH=md5:abc', 'params: CA_HASH is not sha256:<64 hex digits>'],
    ['SERVER=198.18.0.1:6443\ntouch x', 'params: line "touch x" is not KEY=value'],
  ])('refuses %j and runs nothing', (text, message) => {
    const result = readParams(`${text}\n`);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${message}\n`);
    expect(readFileSync(join(dir, 'termination'), 'utf8')).toBe(`${message}\n`);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });
});

describe('penetrator_arch_of (remote.sh)', () => {
  const archOf = (uname: string): SpawnSyncReturns<string> =>
    spawnSync('sh', ['-c', '. "$REMOTE"; penetrator_arch_of "$UNAME"'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', REMOTE, UNAME: uname },
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
    });

  it.each([
    ['x86_64', 'amd64'],
    ['aarch64', 'arm64'],
    ['x86_64\r\n', 'amd64'],
  ])('maps %j to %s', (uname, arch) => {
    const result = archOf(uname);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(arch);
  });

  it.each(['armv7l', 'i686', 'ppc64le', 's390x', '', 'x86_64 aarch64'])('refuses %j', (uname) => {
    expect(archOf(uname).status).toBe(1);
  });
});

/** A complete run against the stub ssh/scp/sshpass, whose remote commands run in a local sh. */
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('install.sh end to end against stub ssh', () => {
  let dir: string;
  let logDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'install-'));
    logDir = join(dir, 'log');
    for (const sub of ['log', 'credential', 'pkg', 'tmp']) spawnSync('mkdir', ['-p', join(dir, sub)]);
    writeFileSync(join(dir, 'credential/token'), `${TOKEN}\n`);
    writeFileSync(
      join(dir, 'credential/sshkey'),
      '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----',
    );
    chmodSync(join(dir, 'credential/sshkey'), 0o644);
    writeFileSync(join(dir, 'pkg/edgeadm-amd64.tgz'), 'package bytes');
    writeFileSync(
      join(dir, 'params'),
      `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/edgeadm-{arch}.tgz')}\n` +
        `PACKAGE_SHA256=${sha256('package bytes')}\n`,
    );
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function runEnv(): Record<string, string> {
    return {
      PATH: `${STUBS}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      TMPDIR: join(dir, 'tmp'),
      STUB_LOG: logDir,
      STUB_REMOTE_PATH: join(STUBS, 'remote'),
      // The machine's install lock, on the test host: a private path, never the host's /run.
      PENETRATOR_MACHINE_LOCK: join(dir, 'machine.lock'),
      PENETRATOR_TARGET_IP: '198.18.1.10',
      PENETRATOR_NODE_NAME: 'edge-abc123',
      PENETRATOR_PARAMS_FILE: join(dir, 'params'),
      PENETRATOR_CREDENTIAL_DIR: join(dir, 'credential'),
      PENETRATOR_TERMINATION_LOG: join(dir, 'termination'),
    };
  }

  function run(env: Record<string, string> = {}): SpawnSyncReturns<string> {
    return spawnSync('sh', [SCRIPT], {
      env: {
        PATH: `${STUBS}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        TMPDIR: join(dir, 'tmp'),
        STUB_LOG: logDir,
        STUB_REMOTE_PATH: join(STUBS, 'remote'),
        PENETRATOR_MACHINE_LOCK: join(dir, 'machine.lock'),
        PENETRATOR_TARGET_IP: '198.18.1.10',
        PENETRATOR_NODE_NAME: 'edge-abc123',
        PENETRATOR_SSH_USER: 'root',
        PENETRATOR_SSH_PORT: '22',
        PENETRATOR_INSTALLER: 'edgeadm',
        PENETRATOR_PARAMS_FILE: join(dir, 'params'),
        PENETRATOR_CREDENTIAL_DIR: join(dir, 'credential'),
        PENETRATOR_TERMINATION_LOG: join(dir, 'termination'),
        ...env,
      },
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
    });
  }

  const logs = (prefix: string): string[] =>
    readdirSync(logDir)
      .filter((f) => f.startsWith(prefix) && f.endsWith('.argv'))
      .sort()
      .map((f) => readFileSync(join(logDir, f), 'utf8'));
  const termination = (): string => readFileSync(join(dir, 'termination'), 'utf8');

  it('detects the architecture, copies the package, resets and joins, then cleans up', () => {
    const result = run();
    expect(result.stderr).toBe(
      'ssh: no known_hosts given; trusting the host key 198.18.1.10 presents on first use\n',
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('[edge-abc123] detecting architecture…\n');
    expect(result.stdout).toContain('[edge-abc123] architecture x86_64 (amd64)\n');
    expect(result.stdout).toContain('[edge-abc123] | This node has joined the cluster\n');
    expect(result.stdout).toMatch(/\[edge-abc123\] joined the cluster as edge-abc123\n$/);

    const calls = readFileSync(join(logDir, 'installer.calls'), 'utf8').split('\n');
    expect(calls[0]).toBe('reset -f');
    expect(calls[1]).toMatch(
      /^join --config (\/tmp\/penetrator-[A-Za-z0-9]{8})\/join-configuration\.yaml --install-pkg-path \1\/edgeadm-amd64\.tgz$/,
    );
    expect(readFileSync(join(logDir, 'package.seen'), 'utf8')).toBe('package bytes');
    expect(readFileSync(join(logDir, 'join-config.seen'), 'utf8')).toBe(joinConfiguration());
    expect(readFileSync(join(logDir, 'join-config.modes'), 'utf8')).toBe('600\n700\n');
    const remoteDir = /--install-pkg-path (\/tmp\/penetrator-\w+)\//.exec(calls[1]!)![1]!;
    expect(existsSync(remoteDir)).toBe(false);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'termination'))).toBe(false);
  });

  it('keeps the token off every command line and out of the output', () => {
    const result = run();
    expect(result.status).toBe(0);
    const files = readdirSync(logDir);
    const argvFiles = files.filter((f) => f.endsWith('.argv'));
    expect(argvFiles.length).toBeGreaterThanOrEqual(4);
    for (const f of argvFiles) expect(readFileSync(join(logDir, f), 'utf8')).not.toContain(TOKEN);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    // It travels on the stdin of the install session only, in the here-document after the call.
    const stdins = files
      .filter((f) => f.endsWith('.stdin'))
      .map((f) => readFileSync(join(logDir, f), 'utf8'));
    expect(stdins.length).toBeGreaterThanOrEqual(3);
    const withToken = stdins.filter((text) => text.includes(TOKEN));
    expect(withToken).toHaveLength(1);
    expect(withToken[0]).toMatch(
      new RegExp(
        `\\npenetrator_remote join 'edgeadm' .*<<'PENETRATOR_TOKEN'\\n${TOKEN}\\nPENETRATOR_TOKEN\\n$`,
      ),
    );
  });

  it('sends remote.sh itself to every session, with only `sh -s` as the remote command', () => {
    const result = run();
    expect(result.status).toBe(0);
    const remote = readFileSync(REMOTE, 'utf8');
    const files = readdirSync(logDir);
    for (const f of files.filter((name) => /^ssh\.\d+\.argv$/.test(name))) {
      expect(readFileSync(join(logDir, f), 'utf8').trimEnd().split('\n').at(-1)).toBe('sh -s');
    }
    const stdins = files.filter((f) => f.endsWith('.stdin')).sort();
    const calls = stdins.map((f) => {
      const text = readFileSync(join(logDir, f), 'utf8');
      expect(text.startsWith(remote)).toBe(true);
      return text.slice(remote.length).split('\n')[0];
    });
    expect(calls[0]).toBe('penetrator_remote arch');
    expect(calls[1]).toBe('penetrator_remote tmpdir');
    expect(calls[2]).toMatch(/^penetrator_remote join 'edgeadm' '198\.18\.0\.1:6443' /);
  });

  it('refuses to start without the remote part', () => {
    const result = run({ PENETRATOR_REMOTE_SCRIPT: join(dir, 'absent.sh') });
    expect(result.status).toBe(2);
    expect(termination()).toBe(
      `input: cannot read the remote part of the installer at ${join(dir, 'absent.sh')}\n`,
    );
    expect(readdirSync(logDir)).toEqual([]);
  });

  it('finds remote.sh next to itself, as the Job runs it from the script ConfigMap', () => {
    const copy = join(dir, 'script');
    spawnSync('mkdir', ['-p', copy]);
    writeFileSync(join(copy, 'install.sh'), readFileSync(SCRIPT));
    writeFileSync(join(copy, 'remote.sh'), readFileSync(REMOTE));
    const result = spawnSync('sh', [join(copy, 'install.sh')], {
      env: { ...runEnv(), PENETRATOR_REMOTE_SCRIPT: '' },
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
    });
    expect(result.stderr).not.toContain('remote part');
    expect(result.status).toBe(0);
  });

  it('uses ssh -i with a private copy of the key, and strict host keys when known_hosts is given', () => {
    writeFileSync(join(dir, 'credential/known_hosts'), '198.18.1.10 ssh-ed25519 AAAA\n');
    const result = run();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const argv = logs('ssh.')[0]!.split('\n');
    expect(argv).toContain('StrictHostKeyChecking=yes');
    expect(argv).toContain(`UserKnownHostsFile=${join(dir, 'credential/known_hosts')}`);
    expect(argv).toContain('BatchMode=yes');
    expect(argv[argv.indexOf('-i') + 1]).toMatch(new RegExp(`^${join(dir, 'tmp')}/penetrator\\.\\w+/key$`));
  });

  const PINNED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedKeyOfTheMachine';

  it('accepts only the pinned host key of a machine installed before, beside the known_hosts given', () => {
    writeFileSync(join(dir, 'credential/known_hosts'), '198.18.1.99 ssh-ed25519 AAAAOther');
    const result = run({ PENETRATOR_PINNED_HOST_KEY: PINNED, PENETRATOR_SSH_PORT: '2222' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const argv of logs('ssh.')) expect(argv.split('\n')).toContain('StrictHostKeyChecking=yes');
    expect(readFileSync(join(logDir, 'ssh.0.known_hosts'), 'utf8')).toBe(
      `198.18.1.99 ssh-ed25519 AAAAOther\n[198.18.1.10]:2222 ${PINNED}\n`,
    );
    expect(existsSync(join(dir, 'termination')) ? termination() : '').toBe('');
  });

  it('pins the key it trusted on first use: the termination message names it', () => {
    const result = run({ STUB_HOST_KEY: PINNED });
    expect(result.status).toBe(0);
    expect(logs('ssh.')[0]!.split('\n')).toContain('StrictHostKeyChecking=accept-new');
    expect(logs('ssh.')[0]!.split('\n')).toContain('HashKnownHosts=no');
    expect(termination()).toBe(`host-key: ${PINNED}\n`);
    expect(result.stdout).toContain('pinned the ssh-ed25519 host key of 198.18.1.10');
  });

  it.each(['ssh-ed25519 AAAA$(reboot)', 'ssh-ed25519', 'ssh ed25519 AAAA', "ssh-ed25519 AAAA'"])(
    'refuses the pin %j before connecting',
    (pin) => {
      const result = run({ PENETRATOR_PINNED_HOST_KEY: pin });
      expect(result.status).toBe(2);
      expect(termination()).toBe('input: PENETRATOR_PINNED_HOST_KEY is not "<type> <base64>"\n');
      expect(existsSync(logDir) && readdirSync(logDir)).toEqual([]);
    },
  );

  it('uses sshpass -f with the password file, never -p', () => {
    rmSync(join(dir, 'credential/sshkey'));
    writeFileSync(join(dir, 'credential/passwd'), 's3cret-password\n');
    const result = run();
    expect(result.status).toBe(0);
    const calls = logs('sshpass.');
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const argv of calls) {
      expect(argv.split('\n').slice(0, 2)).toEqual(['-f', join(dir, 'credential/passwd')]);
      expect(argv).not.toContain('s3cret-password');
    }
  });

  it.each([
    [
      'ssh: connect to host 198.18.1.10 port 22: Connection refused',
      'arch: ssh: cannot reach 198.18.1.10:22 (connection refused)',
    ],
    [
      'ssh: connect to host 198.18.1.10 port 22: Connection timed out',
      'arch: ssh: cannot reach 198.18.1.10:22 (timed out)',
    ],
    [
      'root@198.18.1.10: Permission denied (publickey,password).',
      'arch: ssh: permission denied for root@198.18.1.10',
    ],
    ['Host key verification failed.', 'arch: ssh: the host key of 198.18.1.10 does not match known_hosts'],
  ])('maps the ssh error %j to one readable line', (sshError, line) => {
    const result = run({ STUB_SSH_FAIL: sshError });
    expect(result.status).toBe(3);
    expect(termination()).toBe(`${line}\n`);
    expect(result.stderr.split('\n')).toContain(line);
  });

  it('maps a wrong password reported by sshpass', () => {
    rmSync(join(dir, 'credential/sshkey'));
    writeFileSync(join(dir, 'credential/passwd'), 'wrong\n');
    const result = run({ STUB_SSHPASS_EXIT: '5' });
    expect(result.status).toBe(3);
    expect(termination()).toBe('arch: ssh: permission denied for root@198.18.1.10\n');
  });

  it('refuses an unsupported architecture', () => {
    const result = run({ STUB_UNAME: 'armv7l' });
    expect(result.status).toBe(4);
    expect(termination()).toBe('arch: unsupported architecture armv7l\n');
  });

  it('reports a failed join with its last line, the token redacted, and removes the remote directory', () => {
    const result = run({ STUB_JOIN_FAIL: `error: token ${TOKEN} expired` });
    expect(result.status).toBe(5);
    expect(termination()).toBe('join: edgeadm join failed: error: token <token> expired\n');
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    const calls = readFileSync(join(logDir, 'installer.calls'), 'utf8');
    const remoteDir = /--install-pkg-path (\/tmp\/penetrator-\w+)\//.exec(calls)![1]!;
    expect(existsSync(remoteDir)).toBe(false);
  });

  it('refuses, touching nothing, while another install holds the machine', async () => {
    const lock = join(dir, 'machine.lock');
    // A holder whose one process is the lock: killing it frees the lock and leaves nothing behind.
    const holder = spawn('flock', ['-x', lock, 'sh', '-c', 'exec sleep 60'], {
      stdio: 'ignore',
      detached: true,
    });
    try {
      await until(() => spawnSync('flock', ['-n', '-E', '16', lock, 'true']).status === 16);
      const result = run({ PENETRATOR_LOCK_WAIT_SECONDS: '1' });
      expect(result.status).toBe(5);
      expect(termination()).toBe('join: another install is running on the machine; this one did not start\n');
      // Not even the reset ran.
      expect(existsSync(join(logDir, 'installer.calls'))).toBe(false);
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
  }, 30_000);

  it('ends the join on the machine and frees its lock when the script is stopped', async () => {
    const child = spawn('sh', [SCRIPT], {
      env: { ...runEnv(), PENETRATOR_SSH_USER: 'root', STUB_JOIN_SECONDS: '60' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const pidFile = join(logDir, 'join.pid');
    try {
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
      const joinPid = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(joinPid)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(5);
      expect(termination()).toBe('interrupted: stopped by a signal\n');
      // The machine's watcher ends the join once the session is gone: no join outlives its sender.
      await until(() => !alive(joinPid));
      const free = spawnSync('flock', ['-n', '-E', '16', join(dir, 'machine.lock'), 'true']);
      expect(free.status).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('refuses hostile environment values before connecting', () => {
    const result = run({ PENETRATOR_NODE_NAME: "edge'; reboot; '" });
    expect(result.status).toBe(2);
    expect(termination()).toBe(`input: PENETRATOR_NODE_NAME "edge'; reboot; '" is not a node name\n`);
    expect(existsSync(logDir) && readdirSync(logDir)).toEqual([]);
  });

  it('refuses a token that is not a bootstrap token, without echoing it', () => {
    writeFileSync(join(dir, 'credential/token'), 'not a token $(reboot)\n');
    const result = run();
    expect(result.status).toBe(2);
    expect(termination()).toBe(
      'credential: the join token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})\n',
    );
  });

  it('refuses a missing package', () => {
    rmSync(join(dir, 'pkg/edgeadm-amd64.tgz'));
    const result = run();
    expect(result.status).toBe(2);
    expect(termination()).toBe(
      `package: install package ${join(dir, 'pkg/edgeadm-amd64.tgz')} is not a readable file\n`,
    );
  });

  it('downloads a package URL over https only, redirects included', () => {
    writeFileSync(
      join(dir, 'params'),
      `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/fetched-{arch}.tgz')}\nPACKAGE_URL=https://pkg.example/e.tgz\n` +
        `PACKAGE_SHA256=${sha256('downloaded bytes')}\n`,
    );
    const result = run();
    expect(result.status).toBe(0);
    const argv = readFileSync(join(logDir, 'curl.argv'), 'utf8').split('\n');
    expect(argv.slice(0, 5)).toEqual(['-fsSL', '--proto', '=https', '--proto-redir', '=https']);
    expect(argv).toContain('https://pkg.example/e.tgz');
    expect(readFileSync(join(logDir, 'package.seen'), 'utf8')).toBe('downloaded bytes');
  });

  it('refuses a package whose bytes differ from its sha256, before anything is copied or run', () => {
    writeFileSync(join(dir, 'pkg/edgeadm-amd64.tgz'), 'tampered bytes');
    const result = run();
    expect(result.status).toBe(6);
    expect(termination()).toBe(
      `package: the install package ${join(dir, 'pkg/edgeadm-amd64.tgz')} does not match its sha256 ` +
        `(expected ${sha256('package bytes')}, found ${sha256('tampered bytes')})\n`,
    );
    expect(finalFailureOf(termination())).toBe('PackageChecksumMismatch');
    expect(existsSync(join(logDir, 'installer.calls'))).toBe(false);
    expect(existsSync(join(logDir, 'package.seen'))).toBe(false);
    expect(logs('scp.')).toEqual([]);
  });

  it("checks a {arch} package against its architecture's sha256, refusing one without", () => {
    const params = `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/edgeadm-{arch}.tgz')}\n`;
    writeFileSync(
      join(dir, 'params'),
      `${params}PACKAGE_SHA256_ARM64=${sha256('other')}\nPACKAGE_SHA256_AMD64=${sha256('package bytes')}\n`,
    );
    expect(run().status).toBe(0);
    writeFileSync(join(dir, 'params'), `${params}PACKAGE_SHA256_ARM64=${sha256('package bytes')}\n`);
    const result = run();
    expect(result.status).toBe(6);
    expect(termination()).toContain('does not match its sha256 (none given for amd64');
  });

  it('refuses a malformed sha256 in the params', () => {
    const params = `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/edgeadm-{arch}.tgz')}\n`;
    writeFileSync(join(dir, 'params'), `${params}PACKAGE_SHA256_AMD64=${sha256('x').toUpperCase()}\n`);
    const result = run();
    expect(result.status).toBe(2);
    expect(termination()).toBe('params: PACKAGE_SHA256_AMD64 is not 64 lower-case hex digits\n');
  });

  it('removes a downloaded package whose bytes differ, so that the next Job fetches it again', () => {
    writeFileSync(
      join(dir, 'params'),
      `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/fetched-{arch}.tgz')}\nPACKAGE_URL=https://pkg.example/e.tgz\n` +
        `PACKAGE_SHA256=${sha256('the published bytes')}\n`,
    );
    const result = run();
    expect(result.status).toBe(6);
    expect(termination()).toContain(`found ${sha256('downloaded bytes')})`);
    expect(existsSync(join(dir, 'pkg/fetched-amd64.tgz'))).toBe(false);
    expect(existsSync(join(logDir, 'installer.calls'))).toBe(false);
  });

  it('joins with kubeadm without a package', () => {
    writeFileSync(join(dir, 'params'), `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\n`);
    const result = run({ PENETRATOR_INSTALLER: 'kubeadm' });
    expect(result.status).toBe(0);
    const calls = readFileSync(join(logDir, 'installer.calls'), 'utf8').split('\n');
    expect(calls[1]).toMatch(/^join --config \/tmp\/penetrator-[A-Za-z0-9]{8}\/join-configuration\.yaml$/);
    expect(readFileSync(join(logDir, 'join-config.seen'), 'utf8')).toBe(joinConfiguration());
    // The directory made for the file alone is gone too.
    expect(existsSync(/--config (\/tmp\/penetrator-\w+)\//.exec(calls[1]!)![1]!)).toBe(false);
  });

  describe('with the params a deployment without a package source writes', () => {
    beforeEach(() => {
      writeFileSync(
        join(dir, 'params'),
        paramsFile({ server: '198.18.0.1:6443', caHash: CA_HASH }, { kind: 'none' }),
      );
    });

    it('joins with kubeadm and copies nothing', () => {
      const result = run({ PENETRATOR_INSTALLER: 'kubeadm' });
      expect(result.status).toBe(0);
      expect(logs('scp.')).toEqual([]);
      const calls = readFileSync(join(logDir, 'installer.calls'), 'utf8').split('\n');
      expect(calls[1]).toMatch(/^join --config \S+\/join-configuration\.yaml$/);
    });

    it('copies nothing for kubeadm even when the deployment has a package', () => {
      writeFileSync(
        join(dir, 'params'),
        `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/edgeadm-{arch}.tgz')}\n`,
      );
      const result = run({ PENETRATOR_INSTALLER: 'kubeadm' });
      expect(result.status).toBe(0);
      expect(logs('scp.')).toEqual([]);
    });

    it('refuses edgeadm, naming the missing package, and copies nothing', () => {
      const result = run();
      expect(result.status).toBe(2);
      expect(termination()).toBe('package: no install package given (PACKAGE)\n');
      expect(logs('scp.')).toEqual([]);
    });
  });
});
