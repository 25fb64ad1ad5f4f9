/**
 * Direct mode's side of the installer contract, pure: what is sent to `sh -s` on the target (the
 * text of installer/remote.sh plus one call line, built byte for byte as install.sh builds it), how
 * the remote part's answers are read, and the one-line failure reasons, worded exactly as install.sh
 * words them so a node's reason reads the same in both modes. No I/O here.
 */
import { CredentialKeys } from '../domain/credential-secret';
import type { SecretObject } from '../domain/kube-types';

/** The here-document delimiter that carries the join token after the call line. */
export const TOKEN_DELIMITER = 'PENETRATOR_TOKEN';

/** installer/remote.sh's exit codes (see its header). */
export const RemoteExit = {
  resetFailed: 11,
  joinFailed: 12,
  unsupported: 13,
  noTmpdir: 14,
  invalidArguments: 15,
  machineBusy: 16,
  packageMismatch: 18,
} as const;

/** install.sh's exit codes, which direct mode reports the same way (installer/README.md). */
export const InstallExit = {
  invalidInput: 2,
  unreachable: 3,
  unsupported: 4,
  installFailed: 5,
  packageMismatch: 6,
} as const;

/** The step names install.sh prefixes its failure line with. */
export type InstallStep =
  'input' | 'credential' | 'params' | 'package' | 'arch' | 'copy' | 'reset' | 'join' | 'interrupted';

/** One failed install, as install.sh would end: `<step>: <reason>` and an exit code. */
export interface InstallFailure {
  step: InstallStep;
  reason: string;
  exitCode: number;
}

export function failure(
  step: InstallStep,
  reason: string,
  exitCode: number = InstallExit.installFailed,
): InstallFailure {
  return { step, reason, exitCode };
}

/** The line install.sh writes to its termination log: one line, the token redacted. */
export function failureLine(f: InstallFailure, token?: string): string {
  return redact(`${f.step}: ${f.reason}`, token).replace(/[\r\n]+/g, ' ');
}

// ---------------------------------------------------------------------------------------------------
// Quoting and the remote call

/** VALUE as one single-quoted shell word, every ' written as '\'' (install.sh's sq). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

export type RemoteCall =
  | { action: 'arch' }
  | { action: 'tmpdir' }
  | { action: 'cleanup'; dir: string }
  | {
      action: 'join';
      installer: string;
      server: string;
      caHash: string;
      nodeName: string;
      /** Empty with kubeadm (no package). */
      packagePath: string;
      /** Empty when no directory was made. */
      dir: string;
      /** What the package's bytes must hash to; empty with kubeadm. */
      packageSha256: string;
    };

/** The call line, as install.sh prints it (join_call and the literal lines in install.sh). */
export function remoteCallLine(call: RemoteCall): string {
  switch (call.action) {
    case 'arch':
    case 'tmpdir':
      return `penetrator_remote ${call.action}`;
    case 'cleanup':
      return `penetrator_remote cleanup ${shellQuote(call.dir)}`;
    case 'join': {
      const words = [
        call.installer,
        call.server,
        call.caHash,
        call.nodeName,
        call.packagePath,
        call.dir,
        call.packageSha256,
      ];
      return `penetrator_remote join ${words.map(shellQuote).join(' ')} <<'${TOKEN_DELIMITER}'`;
    }
  }
}

const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

export function isBootstrapToken(token: string): boolean {
  return BOOTSTRAP_TOKEN.test(token);
}

/**
 * What `sh -s` reads: remote.sh (ending with a newline), the call line, and for join the token in
 * the here-document. Same bytes as install.sh's remote_input. The token is checked here, because a
 * line equal to the delimiter would end the here-document early.
 */
export function remoteInput(script: string, call: RemoteCall, token?: string): string {
  const body = script.endsWith('\n') || script === '' ? script : `${script}\n`;
  const head = `${body}${remoteCallLine(call)}\n`;
  if (call.action !== 'join') return head;
  if (token === undefined || !isBootstrapToken(token)) {
    throw new Error('remoteInput: the join token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})');
  }
  return `${head}${token}\n${TOKEN_DELIMITER}\n`;
}

// ---------------------------------------------------------------------------------------------------
// Reading the remote part's answers

/** TEXT without the join token (the only secret a tool could echo back). */
export function redact(text: string, token?: string): string {
  return token ? text.replaceAll(token, '<token>') : text;
}

/** The last non-blank line: the conclusion of an installer's output. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? '').trim();
}

export type Arch = 'amd64' | 'arm64';

/** `penetrator_remote arch`: "<machine> <arch>" on success, the machine alone with exit 13. */
export function readArch(code: number, stdout: string): { machine: string; arch: Arch } | InstallFailure {
  const line = stdout.replace(/[\r\n]+/g, '');
  if (code === RemoteExit.unsupported) {
    return failure('arch', `unsupported architecture ${line}`, InstallExit.unsupported);
  }
  if (code !== 0) return failure('arch', `uname -m failed on the target (exit ${code})`);
  const space = line.indexOf(' ');
  const machine = space < 0 ? line : line.slice(0, space);
  const arch = space < 0 ? '' : line.slice(space + 1);
  if (arch !== 'amd64' && arch !== 'arm64') {
    return failure('arch', `the target reported "${line}" for its architecture`);
  }
  return { machine, arch };
}

const TMPDIR = /^\/tmp\/penetrator-[A-Za-z0-9]+$/;

/** `penetrator_remote tmpdir`: the directory, which must be one remote.sh could have made. */
export function readTmpdir(code: number, stdout: string): string | InstallFailure {
  const dir = stdout.replace(/[\r\n]+/g, '');
  if (code !== 0) return failure('copy', `cannot create a temporary directory on the target (exit ${code})`);
  if (!TMPDIR.test(dir)) return failure('copy', `mktemp on the target returned "${dir}"`);
  return dir;
}

/** install.sh's reason when another install holds the machine's lock (remote.sh's exit 16). */
export const MACHINE_BUSY = 'another install is running on the machine; this one did not start';

/** `penetrator_remote join`: undefined when the machine joined, else the failure install.sh reports. */
export function readJoin(
  code: number,
  output: string,
  installer: string,
  token?: string,
  packagePath = '',
): InstallFailure | undefined {
  const last = lastLine(redact(output, token)) || 'no output';
  switch (code) {
    case 0:
      return undefined;
    case RemoteExit.resetFailed:
      return failure('reset', `${installer} reset -f failed: ${last}`);
    case RemoteExit.joinFailed:
      return failure('join', `${installer} join failed: ${last}`);
    case RemoteExit.machineBusy:
      return failure('join', MACHINE_BUSY);
    case RemoteExit.packageMismatch:
      return failure(
        'package',
        `the install package ${packagePath} does not match its sha256 on the target (${last})`,
        InstallExit.packageMismatch,
      );
    default:
      return failure('join', `the install script ended with exit ${code}: ${last}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The SSH failures, in install.sh's words (its ssh_reason)

export const sshReason = {
  permissionDenied: (user: string, ip: string) => `ssh: permission denied for ${user}@${ip}`,
  cannotReach: (ip: string, port: number, why: 'connection refused' | 'timed out' | 'no route') =>
    `ssh: cannot reach ${ip}:${port} (${why})`,
  hostKeyMismatch: (ip: string) => `ssh: the host key of ${ip} does not match known_hosts`,
  hostKeyUnknown: (ip: string) => `ssh: the host key of ${ip} is not in known_hosts`,
  connectionLost: (ip: string, port: number) => `ssh: the connection to ${ip}:${port} was lost`,
  other: (message: string) => `ssh: ${lastLine(message) || 'failed without a message'}`,
};

// ---------------------------------------------------------------------------------------------------
// The join parameters and the package

export interface DirectParams {
  server: string;
  caHash: string;
  package: string;
  packageUrl: string;
}

const SERVER = /^[\]A-Za-z0-9.:[-]+:[0-9]+$/;
const CA_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * The script ConfigMap's params file, read as install.sh's read_params reads it: KEY=value lines,
 * nothing evaluated, unknown keys ignored, SERVER and CA_HASH checked.
 */
export function readParams(text: string): DirectParams | InstallFailure {
  const params: DirectParams = { server: '', caHash: '', package: '', packageUrl: '' };
  const keys: Record<string, keyof DirectParams> = {
    SERVER: 'server',
    CA_HASH: 'caHash',
    PACKAGE: 'package',
    PACKAGE_URL: 'packageUrl',
  };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) return failure('params', `line "${line}" is not KEY=value`, InstallExit.invalidInput);
    const key = keys[line.slice(0, eq)];
    if (key) params[key] = line.slice(eq + 1);
  }
  if (!SERVER.test(params.server) || params.server.startsWith(':')) {
    return failure('params', `SERVER "${params.server}" is not host:port`, InstallExit.invalidInput);
  }
  if (!CA_HASH.test(params.caHash)) {
    return failure('params', 'CA_HASH is not sha256:<64 hex digits>', InstallExit.invalidInput);
  }
  return params;
}

/** PATH with every {arch} replaced, so one task serves amd64 and arm64 machines. */
export function packageFor(path: string, arch: Arch): string {
  return path.replaceAll('{arch}', arch);
}

/** The file name a package gets in the target's directory: the local file's own name. */
export function packageFileName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function isFailure(value: unknown): value is InstallFailure {
  return typeof value === 'object' && value !== null && 'step' in value && 'exitCode' in value;
}

// ---------------------------------------------------------------------------------------------------
// SSH failures

export type SshFailureKind =
  'credential' | 'auth' | 'unreachable' | 'host-key' | 'lost' | 'deadline' | 'other';

/**
 * A failed SSH connection, command or copy, with its one-line reason in install.sh's words. Thrown by
 * the SSH adapter and turned into an InstallFailure by direct mode; never leaves the Lambda as is.
 */
export class SshFailure extends Error {
  override readonly name = 'SshFailure';
  constructor(
    readonly kind: SshFailureKind,
    readonly reason: string,
  ) {
    super(reason);
  }
}

// ---------------------------------------------------------------------------------------------------
// What the install Job would mount, read from the task's objects

export interface DirectCredential {
  passwd?: string;
  sshkey?: string;
  knownHosts?: string;
  token: string;
}

function secretValue(secret: SecretObject, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * The task's credential Secret, as install.sh reads its credential directory: the key wins over the
 * password, the token must be a bootstrap token. Messages name keys, never values.
 */
export function readCredentialSecret(secret: SecretObject): DirectCredential | InstallFailure {
  const token = (secretValue(secret, CredentialKeys.token) ?? '').trim();
  if (token === '')
    return failure('credential', `no join token in Secret ${secret.metadata.name}`, InstallExit.invalidInput);
  if (!isBootstrapToken(token)) {
    return failure(
      'credential',
      'the join token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})',
      InstallExit.invalidInput,
    );
  }
  const credential: DirectCredential = { token };
  const sshkey = secretValue(secret, CredentialKeys.sshkey);
  const passwd = secretValue(secret, CredentialKeys.passwd);
  if (sshkey !== undefined && sshkey.trim() !== '') credential.sshkey = sshkey;
  else if (passwd !== undefined && passwd !== '') credential.passwd = passwd.replace(/\r?\n$/, '');
  else {
    return failure(
      'credential',
      `neither passwd nor sshkey in Secret ${secret.metadata.name}`,
      InstallExit.invalidInput,
    );
  }
  const knownHosts = secretValue(secret, CredentialKeys.knownHosts);
  if (knownHosts !== undefined && knownHosts.trim() !== '') credential.knownHosts = knownHosts;
  return credential;
}
