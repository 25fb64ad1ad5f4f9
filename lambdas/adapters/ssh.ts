/**
 * SSH to target machines with the ssh2 library: the only file that imports it. Connects with a
 * password or a private key, checks the host key against known_hosts lines when given (else trusts
 * it and reports its fingerprint), runs a command with a script on its stdin, copies a file over
 * SFTP. Every wait is bounded, output is kept to its last bytes, and every failure becomes an
 * SshFailure whose reason is the line installer/install.sh prints for the same failure.
 */
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { fingerprint, hostKeyAlgorithms, keysFor, verdict, type HostKeyVerdict } from '../direct/known-hosts';
import { SshFailure, sshReason } from '../direct/remote';
import { blobType } from '../domain/host-key-pin';
import type { SshConnector, SshExecResult, SshLogin, SshSession } from '../ports';

/** As install.sh's ssh: ServerAliveInterval=15, ServerAliveCountMax=4. */
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;
/** Each output stream keeps its last 64 KiB: the conclusion is at the end. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

type Ssh2Error = Error & { level?: string; code?: string };

/** Keeps the last `limit` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

function unreachable(login: SshLogin, error: Ssh2Error): string | undefined {
  const why: Record<string, 'connection refused' | 'timed out' | 'no route'> = {
    ECONNREFUSED: 'connection refused',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'no route',
    ENETUNREACH: 'no route',
  };
  const found = error.code ? why[error.code] : undefined;
  if (found) return sshReason.cannotReach(login.host, login.port, found);
  if (error.level === 'client-timeout') return sshReason.cannotReach(login.host, login.port, 'timed out');
  return undefined;
}

const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** The failure of a connection that never became ready. */
export function connectFailure(
  login: SshLogin,
  error: Ssh2Error,
  hostKey: HostKeyVerdict | undefined,
): SshFailure {
  if (hostKey === 'unknown') return new SshFailure('host-key', sshReason.hostKeyUnknown(login.host));
  if (hostKey === 'mismatch' || hostKey === 'revoked')
    return new SshFailure('host-key', sshReason.hostKeyMismatch(login.host));
  if (error.level === 'client-authentication')
    return new SshFailure('auth', sshReason.permissionDenied(login.user, login.host));
  const cannotReach = unreachable(login, error);
  if (cannotReach) return new SshFailure('unreachable', cannotReach);
  if ((error.code && LOST_CODES.has(error.code)) || /connection lost/i.test(error.message))
    return new SshFailure('lost', sshReason.connectionLost(login.host, login.port));
  return new SshFailure('other', sshReason.other(error.message));
}

function connectConfig(login: SshLogin, onHostKey: (key: Buffer) => boolean): ConnectConfig {
  const keys = login.knownHosts === undefined ? undefined : keysFor(login.knownHosts, login.host, login.port);
  const algorithms = keys && hostKeyAlgorithms(keys);
  const config: ConnectConfig = {
    host: login.host,
    port: login.port,
    username: login.user,
    readyTimeout: login.readyTimeoutMs,
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    hostVerifier: (key: Buffer) => onHostKey(key),
  };
  if (algorithms)
    config.algorithms = {
      serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'],
    };
  if (login.privateKey !== undefined) config.privateKey = login.privateKey;
  else if (login.password !== undefined) {
    config.password = login.password;
    // As install.sh's PreferredAuthentications=password,keyboard-interactive.
    config.tryKeyboard = true;
  }
  return config;
}

/** The commands of one connection; every pending call is failed when the connection goes. */
class Ssh2Session implements SshSession {
  private readonly pending = new Set<(failure: SshFailure) => void>();
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly login: SshLogin,
    readonly hostKeyFingerprint: string,
    readonly hostKey: string,
  ) {
    const lost = (): void =>
      this.failAll(new SshFailure('lost', sshReason.connectionLost(login.host, login.port)));
    client.on('close', lost);
    client.on('error', lost);
  }

  private failAll(failure: SshFailure): void {
    this.closed = true;
    for (const reject of [...this.pending]) reject(failure);
    this.pending.clear();
  }

  /** Runs `start` with a deadline and connection loss wired to `reject`. */
  private bounded<T>(
    what: string,
    timeoutMs: number,
    start: (
      resolve: (value: T) => void,
      reject: (failure: SshFailure) => void,
      onAbort: (abort: () => void) => void,
    ) => void,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new SshFailure('lost', sshReason.connectionLost(this.login.host, this.login.port)),
      );
    return new Promise<T>((resolve, reject) => {
      let abort: () => void = () => undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.pending.delete(fail);
      };
      const fail = (failure: SshFailure): void => {
        done();
        abort();
        reject(failure);
      };
      const timer = setTimeout(
        () =>
          fail(
            new SshFailure('deadline', `ssh: ${what} did not finish within ${Math.ceil(timeoutMs / 1000)} s`),
          ),
        timeoutMs,
      );
      this.pending.add(fail);
      start(
        (value) => {
          done();
          resolve(value);
        },
        fail,
        (a) => (abort = a),
      );
    });
  }

  exec(command: string, options: { stdin: string; timeoutMs: number }): Promise<SshExecResult> {
    return this.bounded<SshExecResult>(
      'the remote command',
      options.timeoutMs,
      (resolve, reject, onAbort) => {
        this.client.exec(command, (error, channel) => {
          if (error) return reject(this.channelFailure(error));
          onAbort(() => channel.close());
          this.collect(channel, resolve, reject);
          channel.end(options.stdin);
        });
      },
    );
  }

  private collect(
    channel: ClientChannel,
    resolve: (result: SshExecResult) => void,
    reject: (failure: SshFailure) => void,
  ): void {
    const stdout = new Tail(MAX_OUTPUT_BYTES);
    const stderr = new Tail(MAX_OUTPUT_BYTES);
    let code: number | undefined;
    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('exit', (status: number | null) => {
      if (typeof status === 'number') code = status;
    });
    channel.on('close', () => {
      // No exit status: killed by a signal or cut off; either way the command's outcome is unknown.
      if (code === undefined)
        reject(new SshFailure('lost', sshReason.connectionLost(this.login.host, this.login.port)));
      else resolve({ code, stdout: stdout.text(), stderr: stderr.text() });
    });
  }

  upload(localPath: string, remotePath: string, options: { timeoutMs: number }): Promise<void> {
    return this.bounded<void>('the copy', options.timeoutMs, (resolve, reject, onAbort) => {
      this.client.sftp((error, sftp: SFTPWrapper) => {
        if (error) return reject(this.channelFailure(error));
        onAbort(() => sftp.end());
        sftp.fastPut(localPath, remotePath, { mode: 0o600 }, (putError) => {
          sftp.end();
          if (putError)
            reject(new SshFailure('other', `sftp upload of ${localPath} failed: ${putError.message}`));
          else resolve();
        });
      });
    });
  }

  private channelFailure(error: Error): SshFailure {
    return this.closed || /no response|not connected/i.test(error.message)
      ? new SshFailure('lost', sshReason.connectionLost(this.login.host, this.login.port))
      : new SshFailure('other', sshReason.other(error.message));
  }

  close(): void {
    this.closed = true;
    this.client.end();
  }
}

/**
 * The answers to a keyboard-interactive challenge: the password, only for a password credential and
 * only to a single prompt that hides its answer (a password prompt). Anything else (several
 * questions, a visible one, a key credential) gets no answer, so a server cannot collect the password
 * through a question it chose.
 */
export function keyboardAnswers(
  login: Pick<SshLogin, 'password' | 'privateKey'>,
  prompts: ReadonlyArray<{ prompt: string; echo?: boolean }>,
): string[] {
  const [only] = prompts;
  if (login.password === undefined || login.privateKey !== undefined) return prompts.map(() => '');
  if (prompts.length !== 1 || only === undefined || only.echo === true) return prompts.map(() => '');
  return [login.password];
}

/** Connects and authenticates; rejects with an SshFailure in install.sh's words. */
export const connectSsh: SshConnector = (login) =>
  new Promise<SshSession>((resolve, reject) => {
    const client = new Client();
    let hostKey: HostKeyVerdict | undefined;
    let presented = '';
    let presentedKey = '';
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const config = connectConfig(login, (key) => {
      presented = fingerprint(key);
      presentedKey = `${blobType(key) ?? 'unknown'} ${key.toString('base64')}`;
      if (login.knownHosts === undefined) return true;
      hostKey = verdict(keysFor(login.knownHosts, login.host, login.port), key);
      return hostKey === 'match';
    });
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) =>
      finish(keyboardAnswers(login, prompts)),
    );
    client.once('ready', () =>
      settle(() => resolve(new Ssh2Session(client, login, presented, presentedKey))),
    );
    client.on('error', (error: Ssh2Error) =>
      settle(() => {
        client.end();
        reject(connectFailure(login, error, hostKey === 'match' ? undefined : hostKey));
      }),
    );
    client.on('close', () =>
      settle(() => reject(new SshFailure('lost', sshReason.connectionLost(login.host, login.port)))),
    );
    try {
      client.connect(config);
    } catch (error) {
      // ssh2 refuses a key it cannot parse (encrypted, malformed) before connecting; its message
      // describes the key's format, never its content.
      settle(() =>
        reject(
          new SshFailure(
            'credential',
            `cannot use the SSH key: ${(error as Error).message.replace(/^Cannot parse privateKey: /, '')}`,
          ),
        ),
      );
    }
  });
