import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Server, utils, type Connection } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, MAX_OUTPUT_BYTES } from '../../../lambdas/adapters/ssh';
import { fingerprint } from '../../../lambdas/direct/known-hosts';
import { SshFailure } from '../../../lambdas/direct/remote';
import type { SshLogin, SshSession } from '../../../lambdas/ports';

/**
 * The SSH adapter against a real SSH peer: ssh2's own Server on 127.0.0.1, which authenticates with
 * a password or a public key and runs each exec request's command in a local `sh`, stdin and exit
 * status passed through. OpenSSH's sshd is exercised by the integration tests.
 */

const USER = 'root';
const PASSWORD = 'the-right-password';
const HOST = '127.0.0.1';

function keyPair(): { private: string; public: string } {
  return utils.generateKeyPairSync('ed25519');
}

const hostKey = keyPair();
const otherHostKey = keyPair();
const clientKey = keyPair();
const strangerKey = keyPair();

function publicBlob(publicLine: string): Buffer {
  return Buffer.from(publicLine.split(' ')[1]!, 'base64');
}

function knownHostsLine(host: string, publicLine: string): string {
  const [type, base64] = publicLine.split(' ');
  return `${host} ${type} ${base64}`;
}

const sameBuffer = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

interface TestServer {
  port: number;
  connections: Connection[];
  /** Makes the next exec's connection drop once the command has started. */
  dropDuringExec: boolean;
  /** When set, only keyboard-interactive logs in, with these prompts; the answers are kept. */
  challenge?: Array<{ prompt: string; echo: boolean }>;
  answers: string[][];
  close(): Promise<void>;
}

/** Runs the exec request's command in a local sh, as sshd would on the target. */
function handleSession(server: TestServer, connection: Connection): void {
  connection.on('session', (acceptSession) => {
    const session = acceptSession();
    session.on('exec', (accept, _reject, info) => {
      const stream = accept();
      const child = spawn('sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
      stream.pipe(child.stdin);
      child.stdout.pipe(stream, { end: false });
      child.stderr.pipe(stream.stderr, { end: false });
      stream.on('close', () => child.kill('SIGKILL'));
      child.on('close', (code) => {
        stream.exit(code ?? 1);
        stream.end();
      });
      if (server.dropDuringExec) setTimeout(() => connection.end(), 100);
    });
  });
}

async function startServer(hostKeyPem: string): Promise<TestServer> {
  const state: TestServer = {
    port: 0,
    connections: [],
    dropDuringExec: false,
    answers: [],
    close: () => Promise.resolve(),
  };
  const server = new Server({ hostKeys: [hostKeyPem] }, (connection) => {
    state.connections.push(connection);
    connection.on('error', () => undefined);
    connection.on('authentication', (ctx) => {
      if (ctx.username !== USER) return ctx.reject();
      const challenge = state.challenge;
      if (challenge) {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        return ctx.prompt(challenge, (answers) => {
          state.answers.push(answers);
          return answers.length === 1 && answers[0] === PASSWORD ? ctx.accept() : ctx.reject();
        });
      }
      if (ctx.method === 'password' && ctx.password === PASSWORD) return ctx.accept();
      if (ctx.method === 'publickey' && sameBuffer(ctx.key.data, publicBlob(clientKey.public))) {
        // Without a signature the client only asks whether the key would do.
        if (!ctx.signature) return ctx.accept();
        const parsed = utils.parseKey(clientKey.public);
        if (!(parsed instanceof Error) && parsed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo))
          return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    connection.on('ready', () => handleSession(state, connection));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const c of state.connections) c.end();
      server.close(() => resolve());
    });
  return state;
}

let server: TestServer;
let sessions: SshSession[] = [];

beforeAll(async () => {
  server = await startServer(hostKey.private);
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  for (const s of sessions) s.close();
  sessions = [];
  server.dropDuringExec = false;
  delete server.challenge;
  server.answers = [];
});

function login(overrides: Partial<SshLogin> = {}): SshLogin {
  return {
    host: HOST,
    port: server.port,
    user: USER,
    password: PASSWORD,
    readyTimeoutMs: 5000,
    ...overrides,
  };
}

async function connect(overrides: Partial<SshLogin> = {}): Promise<SshSession> {
  const session = await connectSsh(login(overrides));
  sessions.push(session);
  return session;
}

async function failureOf(promise: Promise<unknown>): Promise<SshFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SshFailure);
  return error as SshFailure;
}

describe('connecting', () => {
  it('logs in with a password and reports the host key it trusted, as ssh-keygen prints it', async () => {
    const session = await connect();
    expect(session.hostKeyFingerprint).toBe(fingerprint(publicBlob(hostKey.public)));
    const keygen = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', '-'], {
      input: `${hostKey.public}\n`,
      encoding: 'utf8',
    });
    expect(keygen.stdout.split(' ')[1]).toBe(session.hostKeyFingerprint);
  });

  it('logs in with a private key', async () => {
    const session = await connect({ password: undefined, privateKey: clientKey.private });
    expect((await session.exec('sh -s', { stdin: 'echo key-login', timeoutMs: 5000 })).stdout).toBe(
      'key-login\n',
    );
  });

  it('accepts a host key that matches known_hosts', async () => {
    const known = knownHostsLine(`[${HOST}]:${server.port}`, hostKey.public);
    await expect(connect({ knownHosts: `# the lab\n${known}\n` })).resolves.toBeDefined();
  });

  it('answers a single hidden keyboard-interactive prompt with the password', async () => {
    server.challenge = [{ prompt: 'Password: ', echo: false }];
    await connect();
    expect(server.answers).toEqual([[PASSWORD]]);
  });

  it.each([
    ['a visible question', [{ prompt: 'Your password, please: ', echo: true }]],
    [
      'several questions',
      [
        { prompt: 'Password: ', echo: false },
        { prompt: 'Verification code: ', echo: false },
      ],
    ],
  ])('gives the password to no keyboard-interactive challenge of %s', async (_what, challenge) => {
    server.challenge = challenge;
    const failure = await failureOf(connectSsh(login()));
    expect(failure.kind).toBe('auth');
    expect(server.answers.flat()).not.toContain(PASSWORD);
  });

  it('refuses a wrong password in install.sh words', async () => {
    const failure = await failureOf(connectSsh(login({ password: 'wrong' })));
    expect(failure.kind).toBe('auth');
    expect(failure.reason).toBe(`ssh: permission denied for root@${HOST}`);
  });

  it('refuses a key the machine does not accept', async () => {
    const failure = await failureOf(
      connectSsh(login({ password: undefined, privateKey: strangerKey.private })),
    );
    expect(failure.reason).toBe(`ssh: permission denied for root@${HOST}`);
  });

  it('refuses another user', async () => {
    const failure = await failureOf(connectSsh(login({ user: 'admin' })));
    expect(failure.reason).toBe(`ssh: permission denied for admin@${HOST}`);
  });

  it('refuses a host key that does not match known_hosts, before sending the password', async () => {
    const known = knownHostsLine(`[${HOST}]:${server.port}`, otherHostKey.public);
    const before = server.connections.length;
    const failure = await failureOf(connectSsh(login({ knownHosts: known })));
    expect(failure.kind).toBe('host-key');
    expect(failure.reason).toBe(`ssh: the host key of ${HOST} does not match known_hosts`);
    // The handshake stopped at key exchange: the server never saw an authentication attempt.
    expect(server.connections.length).toBe(before + 1);
  });

  it('refuses a host known_hosts does not name', async () => {
    const failure = await failureOf(
      connectSsh(login({ knownHosts: knownHostsLine('198.18.9.9', hostKey.public) })),
    );
    expect(failure.reason).toBe(`ssh: the host key of ${HOST} is not in known_hosts`);
  });

  it('says connection refused for a closed port', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const failure = await failureOf(connectSsh(login({ port: closedPort })));
    expect(failure.reason).toBe(`ssh: cannot reach ${HOST}:${closedPort} (connection refused)`);
  });

  it('says timed out when the peer never speaks SSH', async () => {
    const silent: NetServer = createServer((socket: Socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, HOST, resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      const failure = await failureOf(connectSsh(login({ port, readyTimeoutMs: 500 })));
      expect(failure.reason).toBe(`ssh: cannot reach ${HOST}:${port} (timed out)`);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('refuses a key it cannot read without echoing it', async () => {
    const failure = await failureOf(
      connectSsh(login({ privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-bytes\n' })),
    );
    expect(failure.kind).toBe('credential');
    expect(failure.reason).toMatch(/^cannot use the SSH key: /);
    expect(failure.reason).not.toContain('secret-bytes');
  });
});

describe('running a command', () => {
  it('writes stdin and returns exit status, stdout and stderr', async () => {
    const session = await connect();
    const result = await session.exec('sh -s', {
      stdin: "cat <<'EOF'\ngot hello\nEOF\necho oops >&2; exit 7\n",
      timeoutMs: 5000,
    });
    expect(result).toEqual({ code: 7, stdout: 'got hello\n', stderr: 'oops\n' });
  });

  it('keeps only the end of a long output', async () => {
    const session = await connect();
    const result = await session.exec('sh -s', {
      stdin: 'i=0; while [ $i -lt 3000 ]; do printf "%0100d\\n" $i; i=$((i+1)); done; echo LAST',
      timeoutMs: 10_000,
    });
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeLessThanOrEqual(MAX_OUTPUT_BYTES);
    expect(result.stdout.endsWith('LAST\n')).toBe(true);
  });

  it('gives up at its deadline', async () => {
    const session = await connect();
    const started = Date.now();
    const failure = await failureOf(session.exec('sh -s', { stdin: 'sleep 30', timeoutMs: 400 }));
    expect(failure.kind).toBe('deadline');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a connection lost while the command runs', async () => {
    const session = await connect();
    server.dropDuringExec = true;
    const failure = await failureOf(session.exec('sh -s', { stdin: 'sleep 30', timeoutMs: 10_000 }));
    expect(failure.kind).toBe('lost');
    expect(failure.reason).toBe(`ssh: the connection to ${HOST}:${server.port} was lost`);
    // Later calls on the dead connection fail at once, the same way.
    expect((await failureOf(session.exec('true', { stdin: '', timeoutMs: 1000 }))).kind).toBe('lost');
  });
});
