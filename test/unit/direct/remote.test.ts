import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InstallExit,
  failureLine,
  isFailure,
  readArch,
  readCredentialSecret,
  readJoin,
  readParams,
  readTmpdir,
  remoteCallLine,
  remoteInput,
  shellQuote,
  type RemoteCall,
} from '../../../lambdas/direct/remote';
import type { SecretObject } from '../../../lambdas/domain/kube-types';
import { finalFailureOf } from '../../../lambdas/domain/final-failures';

/**
 * Direct mode's side of installer/remote.sh: the bytes it sends are install.sh's bytes, and
 * remote.sh, run by a real `sh -s` (dash here, which reads stdin in blocks), does what they ask
 * with hostile values kept as data.
 */

const REMOTE = resolve(import.meta.dirname, '../../../installer/remote.sh');
const INSTALL = resolve(import.meta.dirname, '../../../installer/install.sh');
const STUBS = resolve(import.meta.dirname, '../installer/stubs');
const TOKEN = 'abcdef.0123456789abcdef';
const CA_HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;
const TIMEOUT_MS = 20_000;
const remoteScript = readFileSync(REMOTE, 'utf8');

const hostile = [
  "'",
  '$(touch "$MARKER")',
  '`touch "$MARKER"`',
  '; touch "$MARKER"; #',
  'a\nb',
  "it's 'quoted' \"twice\"",
  '-n',
];

describe('shellQuote', () => {
  it.each(hostile)('round-trips %j through a shell, as install.sh’s sq does', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'quote-'));
    try {
      const marker = join(dir, 'pwned');
      const viaTs = spawnSync('sh', ['-c', `printf %s ${shellQuote(value)}`], {
        encoding: 'utf8',
        env: { MARKER: marker, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      expect(viaTs.stdout).toBe(value);
      const viaSq = spawnSync('sh', ['-c', 'PENETRATOR_LIB_ONLY=1 . "$SCRIPT"; sq "$VALUE"'], {
        encoding: 'utf8',
        env: { SCRIPT: INSTALL, VALUE: value, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      expect(viaSq.stdout).toBe(shellQuote(value));
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('remoteInput', () => {
  const join_: RemoteCall = {
    action: 'join',
    installer: 'edgeadm',
    server: '198.18.0.1:6443',
    caHash: CA_HASH,
    nodeName: 'edge-abc123',
    packagePath: '/tmp/penetrator-Ab12Cd34/edgeadm-amd64.tgz',
    dir: '/tmp/penetrator-Ab12Cd34',
    packageSha256: '',
  };

  it('is remote.sh, the call line and, for join, the token in a here-document', () => {
    expect(remoteInput('f() { :; }\n', { action: 'arch' })).toBe('f() { :; }\npenetrator_remote arch\n');
    expect(remoteInput('f() { :; }', { action: 'tmpdir' })).toBe('f() { :; }\npenetrator_remote tmpdir\n');
    expect(remoteInput('s\n', join_, TOKEN)).toBe(
      "s\npenetrator_remote join 'edgeadm' '198.18.0.1:6443' " +
        `'${CA_HASH}' 'edge-abc123' '/tmp/penetrator-Ab12Cd34/edgeadm-amd64.tgz' '/tmp/penetrator-Ab12Cd34' '' ` +
        `<<'PENETRATOR_TOKEN'\n${TOKEN}\nPENETRATOR_TOKEN\n`,
    );
    expect(remoteCallLine({ action: 'cleanup', dir: "/tmp/x'y" })).toBe(
      "penetrator_remote cleanup '/tmp/x'\\''y'",
    );
  });

  it.each([undefined, '', 'PENETRATOR_TOKEN', `${TOKEN}\nPENETRATOR_TOKEN\nreboot`])(
    'refuses to send join with the token %j',
    (token) => {
      expect(() => remoteInput(remoteScript, join_, token)).toThrow(/not a bootstrap token/);
    },
  );
});

const PACKAGE_BYTES_SHA256 = createHash('sha256').update('package bytes').digest('hex');

/** Runs install.sh against the stub ssh and returns what each `sh -s` session read. */
function installShSessions(dir: string): string[] {
  const log = join(dir, 'log');
  for (const sub of ['log', 'credential', 'pkg', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'credential/token'), `${TOKEN}\n`);
  writeFileSync(join(dir, 'credential/passwd'), 'pw\n');
  writeFileSync(join(dir, 'pkg/edgeadm-amd64.tgz'), 'package bytes');
  writeFileSync(
    join(dir, 'params'),
    `SERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=${join(dir, 'pkg/edgeadm-{arch}.tgz')}\n` +
      `PACKAGE_SHA256_AMD64=${PACKAGE_BYTES_SHA256}\n`,
  );
  const result = spawnSync('sh', [INSTALL], {
    env: {
      PATH: `${STUBS}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      TMPDIR: join(dir, 'tmp'),
      STUB_LOG: log,
      STUB_REMOTE_PATH: join(STUBS, 'remote'),
      PENETRATOR_MACHINE_LOCK: join(dir, 'machine.lock'),
      PENETRATOR_TARGET_IP: '198.18.1.10',
      PENETRATOR_NODE_NAME: 'edge-abc123',
      PENETRATOR_PARAMS_FILE: join(dir, 'params'),
      PENETRATOR_CREDENTIAL_DIR: join(dir, 'credential'),
      PENETRATOR_TERMINATION_LOG: join(dir, 'termination'),
    },
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  if (result.status !== 0) throw new Error(`install.sh failed: ${result.stderr}`);
  return readdirSync(log)
    .filter((f) => f.endsWith('.stdin'))
    .sort()
    .map((f) => readFileSync(join(log, f), 'utf8'));
}

describe('the same bytes as install.sh', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'same-bytes-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('for every session: arch, tmpdir and join', () => {
    const [arch, tmp, joinSession] = installShSessions(dir);
    expect(arch).toBe(remoteInput(remoteScript, { action: 'arch' }));
    expect(tmp).toBe(remoteInput(remoteScript, { action: 'tmpdir' }));
    const remoteDir = /--install-pkg-path (\/tmp\/penetrator-\w+)\//.exec(
      readFileSync(join(dir, 'log/installer.calls'), 'utf8'),
    )![1]!;
    expect(joinSession).toBe(
      remoteInput(
        remoteScript,
        {
          action: 'join',
          installer: 'edgeadm',
          server: '198.18.0.1:6443',
          caHash: CA_HASH,
          nodeName: 'edge-abc123',
          packagePath: `${remoteDir}/edgeadm-amd64.tgz`,
          dir: remoteDir,
          packageSha256: PACKAGE_BYTES_SHA256,
        },
        TOKEN,
      ),
    );
  });
});

describe('remote.sh under sh -s', () => {
  let dir: string;
  let bin: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'remote-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    // A stand-in installer recording its argv one per line, so each word's boundaries show.
    writeFileSync(
      join(bin, 'edgeadm'),
      '#!/bin/sh\nfor a; do printf "%s\\n" "$a"; done >>"$CALLS"\nprintf -- "--\\n" >>"$CALLS"\n' +
        // With SEEN set, keep the join configuration file's modes (file, directory) and content.
        '[ "$1" != join ] || [ -z "${SEEN:-}" ] || { stat -c %a -- "$3" "${3%/*}"; cat -- "$3"; } >"$SEEN"\n' +
        '[ "$1" != join ] || [ -z "${JOIN_FAIL:-}" ] || { echo "error execution phase x: $JOIN_FAIL" >&2; exit 1; }\n',
    );
    chmodSync(join(bin, 'edgeadm'), 0o755);
    writeFileSync(join(bin, 'uname'), '#!/bin/sh\necho "${UNAME_M:-x86_64}"\n');
    chmodSync(join(bin, 'uname'), 0o755);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function remote(stdin: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
    return spawnSync('sh', ['-s'], {
      input: stdin,
      encoding: 'utf8',
      timeout: TIMEOUT_MS,
      env: {
        PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        CALLS: join(dir, 'calls'),
        MARKER: join(dir, 'pwned'),
        // The machine's install lock, on the test host: a private path, never the host's /run.
        PENETRATOR_MACHINE_LOCK: join(dir, 'machine.lock'),
        ...env,
      },
    });
  }

  it('reports the architecture, or exit 13 with the machine', () => {
    const ok = remote(remoteInput(remoteScript, { action: 'arch' }), { UNAME_M: 'aarch64' });
    expect(readArch(ok.status!, ok.stdout)).toEqual({ machine: 'aarch64', arch: 'arm64' });
    const no = remote(remoteInput(remoteScript, { action: 'arch' }), { UNAME_M: 'armv7l' });
    expect(no.status).toBe(13);
    const failed = readArch(no.status!, no.stdout);
    expect(isFailure(failed) && failureLine(failed)).toBe('arch: unsupported architecture armv7l');
    expect(isFailure(failed) && failed.exitCode).toBe(InstallExit.unsupported);
  });

  it('makes a private temporary directory and removes only such a directory', () => {
    const made = remote(remoteInput(remoteScript, { action: 'tmpdir' }));
    const madeDir = readTmpdir(made.status!, made.stdout);
    expect(typeof madeDir).toBe('string');
    expect(existsSync(madeDir as string)).toBe(true);
    const cleaned = remote(remoteInput(remoteScript, { action: 'cleanup', dir: madeDir as string }));
    expect(cleaned.status).toBe(0);
    expect(existsSync(madeDir as string)).toBe(false);

    const victim = join(dir, 'keep');
    mkdirSync(victim);
    const refused = remote(remoteInput(remoteScript, { action: 'cleanup', dir: victim }));
    expect(refused.status).toBe(15);
    expect(existsSync(victim)).toBe(true);
  });

  it('resets and joins from a private join configuration file, the token read from the here-document', () => {
    const result = remote(
      remoteInput(
        remoteScript,
        {
          action: 'join',
          installer: 'edgeadm',
          server: '198.18.0.1:6443',
          caHash: CA_HASH,
          nodeName: 'edge-a',
          packagePath: "/tmp/p k'g",
          dir: '',
          packageSha256: '',
        },
        TOKEN,
      ),
      { SEEN: join(dir, 'seen') },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const calls = readFileSync(join(dir, 'calls'), 'utf8').split('--\n');
    expect(calls[0]).toBe('reset\n-f\n');
    const [verb, flag, config, ...rest] = calls[1]!.split('\n');
    expect([verb, flag]).toEqual(['join', '--config']);
    expect(config).toMatch(/^\/tmp\/penetrator-[A-Za-z0-9]{8}\/join-configuration\.yaml$/);
    expect(rest).toEqual(['--install-pkg-path', "/tmp/p k'g", '']);
    expect(calls[1]).not.toContain(TOKEN);
    const seen = readFileSync(join(dir, 'seen'), 'utf8');
    expect(seen).toContain(`    token: "${TOKEN}"\n`);
    expect(seen).toContain('    apiServerEndpoint: "198.18.0.1:6443"\n');
    expect(seen).toContain('  name: "edge-a"\n');
    expect(seen).toMatch(/^600\n700\n/);
    // The directory made for the file is removed with it.
    expect(existsSync(dirname(config!))).toBe(false);
  });

  it.each([
    ['server', { server: '$(touch "$MARKER"):6443' }],
    ['server', { server: '198.18.0.1:6443"\n  x: "y' }],
    ['CA hash', { caHash: 'sha256:"; x' }],
    ['node name', { nodeName: hostile.join('|') }],
    ['package sha256', { packageSha256: `$(touch "$MARKER")${'a'.repeat(50)}` }],
    ['package sha256', { packageSha256: 'A'.repeat(64) }],
  ])(
    'refuses a join whose %s could not be written into the file as data, before running anything',
    (_what, bad) => {
      const call: RemoteCall = {
        action: 'join',
        installer: 'edgeadm',
        server: '198.18.0.1:6443',
        caHash: CA_HASH,
        nodeName: 'edge-a',
        packagePath: '/tmp/p.tgz',
        dir: '',
        packageSha256: '',
        ...bad,
      };
      const result = remote(remoteInput(remoteScript, call, TOKEN));
      expect(result.status).toBe(15);
      expect(existsSync(join(dir, 'calls'))).toBe(false);
      expect(existsSync(join(dir, 'pwned'))).toBe(false);
    },
  );

  it('runs nothing when the package differs from its sha256, and names both digests', () => {
    const tmp = remote(remoteInput(remoteScript, { action: 'tmpdir' })).stdout.trim();
    writeFileSync(`${tmp}/p.tgz`, 'tampered bytes');
    const call: RemoteCall = {
      action: 'join',
      installer: 'edgeadm',
      server: '198.18.0.1:6443',
      caHash: CA_HASH,
      nodeName: 'edge-a',
      packagePath: `${tmp}/p.tgz`,
      dir: tmp,
      packageSha256: PACKAGE_BYTES_SHA256,
    };
    const result = remote(remoteInput(remoteScript, call, TOKEN));
    expect(result.status).toBe(18);
    expect(existsSync(join(dir, 'calls'))).toBe(false);
    expect(existsSync(tmp)).toBe(false);
    const failed = readJoin(
      result.status!,
      `${result.stdout}\n${result.stderr}`,
      'edgeadm',
      TOKEN,
      call.packagePath,
    );
    const found = createHash('sha256').update('tampered bytes').digest('hex');
    expect(failed && failureLine(failed, TOKEN)).toBe(
      `package: the install package ${tmp}/p.tgz does not match its sha256 on the target (expected ${PACKAGE_BYTES_SHA256}, found ${found})`,
    );
    expect(finalFailureOf(failureLine(failed!, TOKEN))).toBe('PackageChecksumMismatch');
  });

  it('reports a failed join with its last line and exit 12, the token redacted', () => {
    const made = remote(remoteInput(remoteScript, { action: 'tmpdir' }));
    const tmp = made.stdout.trim();
    const call: RemoteCall = {
      action: 'join',
      installer: 'edgeadm',
      server: '198.18.0.1:6443',
      caHash: CA_HASH,
      nodeName: 'edge-a',
      packagePath: `${tmp}/p.tgz`,
      dir: tmp,
      packageSha256: '',
    };
    const result = remote(remoteInput(remoteScript, call, TOKEN), { JOIN_FAIL: `token ${TOKEN} rejected` });
    expect(result.status).toBe(12);
    const failed = readJoin(result.status!, `${result.stdout}\n${result.stderr}`, 'edgeadm', TOKEN);
    expect(failed && failureLine(failed, TOKEN)).toBe(
      'join: edgeadm join failed: error execution phase x: token <token> rejected',
    );
    // The directory goes whatever happened.
    expect(existsSync(tmp)).toBe(false);
  });

  it("refuses a join while another holds the machine, with install.sh's final reason, running nothing", () => {
    const lock = join(dir, 'machine.lock');
    // Its own process group, so that the finally below ends flock and its sleep together.
    const holder = spawn('flock', ['-x', lock, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      for (let i = 0; i < 200 && spawnSync('flock', ['-n', '-E', '16', lock, 'true']).status !== 16; i++) {
        spawnSync('sleep', ['0.05']);
      }
      const call: RemoteCall = {
        action: 'join',
        installer: 'edgeadm',
        server: '198.18.0.1:6443',
        caHash: CA_HASH,
        nodeName: 'edge-a',
        packagePath: '/tmp/p.tgz',
        dir: '',
        packageSha256: '',
      };
      const result = remote(remoteInput(remoteScript, call, TOKEN), { PENETRATOR_LOCK_WAIT_SECONDS: '1' });
      expect(result.status).toBe(16);
      const failed = readJoin(result.status!, `${result.stdout}\n${result.stderr}`, 'edgeadm', TOKEN);
      const line = failed && failureLine(failed, TOKEN);
      expect(line).toBe('join: another install is running on the machine; this one did not start');
      expect(finalFailureOf(line || '')).toBe('MachineBusy');
      expect(existsSync(join(dir, 'calls'))).toBe(false);
    } finally {
      if (holder.pid !== undefined) process.kill(-holder.pid, 'SIGKILL');
    }
  }, 30_000);

  it('refuses a join without a proper token, before running anything', () => {
    const stdin = `${remoteScript}penetrator_remote join 'edgeadm' 's:1' 'h' 'n' '' '' <<'PENETRATOR_TOKEN'\nnot-a-token\nPENETRATOR_TOKEN\n`;
    const result = remote(stdin);
    expect(result.status).toBe(15);
    expect(existsSync(join(dir, 'calls'))).toBe(false);
  });

  it('refuses an unknown action', () => {
    expect(remote(`${remoteScript}penetrator_remote reboot\n`).status).toBe(15);
  });
});

describe('reading the answers', () => {
  it('maps exit codes to install.sh’s lines', () => {
    expect(readArch(255, '')).toMatchObject({
      step: 'arch',
      reason: 'uname -m failed on the target (exit 255)',
    });
    expect(readArch(0, 'x86_64 sparc')).toMatchObject({
      reason: 'the target reported "x86_64 sparc" for its architecture',
    });
    expect(readTmpdir(14, '')).toMatchObject({
      step: 'copy',
      reason: 'cannot create a temporary directory on the target (exit 14)',
    });
    expect(readTmpdir(0, '/etc\n')).toMatchObject({ reason: 'mktemp on the target returned "/etc"' });
    expect(readJoin(0, 'joined', 'edgeadm')).toBeUndefined();
    expect(readJoin(11, 'x\nboom\n\n', 'kubeadm')).toMatchObject({
      step: 'reset',
      reason: 'kubeadm reset -f failed: boom',
    });
    expect(readJoin(7, '', 'edgeadm')).toMatchObject({
      step: 'join',
      reason: 'the install script ended with exit 7: no output',
    });
  });

  it('reads the params file as install.sh does', () => {
    expect(
      readParams(`# c\nSERVER=198.18.0.1:6443\nCA_HASH=${CA_HASH}\nPACKAGE=/p/{arch}.tgz\nFUTURE=1\n`),
    ).toEqual({
      server: '198.18.0.1:6443',
      caHash: CA_HASH,
      package: '/p/{arch}.tgz',
      packageUrl: '',
    });
    expect(readParams('SERVER=$(reboot)\n')).toMatchObject({
      step: 'params',
      exitCode: 2,
      reason: 'SERVER "$(reboot)" is not host:port',
    });
    expect(readParams(`SERVER=a:1\nCA_HASH=md5:x\n`)).toMatchObject({
      reason: 'CA_HASH is not sha256:<64 hex digits>',
    });
    expect(readParams('touch x\n')).toMatchObject({ reason: 'line "touch x" is not KEY=value' });
  });

  it('reads the credential Secret, preferring the key and never echoing a value', () => {
    const secret = (data: Record<string, string>): SecretObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'penetrator-credential-t' },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    expect(
      readCredentialSecret(
        secret({ token: `${TOKEN}\n`, passwd: 'pw\n', sshkey: 'KEY', known_hosts: 'h k v\n' }),
      ),
    ).toEqual({
      token: TOKEN,
      sshkey: 'KEY',
      knownHosts: 'h k v\n',
    });
    expect(readCredentialSecret(secret({ token: TOKEN, passwd: 'pw\n' }))).toEqual({
      token: TOKEN,
      passwd: 'pw',
    });
    const bad = readCredentialSecret(secret({ token: 's3cret-not-a-token', passwd: 'pw' }));
    expect(bad).toMatchObject({ step: 'credential', exitCode: 2 });
    expect(JSON.stringify(bad)).not.toContain('s3cret');
    expect(readCredentialSecret(secret({ token: TOKEN }))).toMatchObject({
      reason: 'neither passwd nor sshkey in Secret penetrator-credential-t',
    });
  });
});
