/**
 * A fault-injecting HTTPS proxy for the apiserver, on loopback only: put between the handlers and the
 * real apiserver, it answers a chosen share of the requests with a fault instead of (or after)
 * forwarding them. The faults are what a cloud path to an apiserver really does:
 *
 * - `5xx`: 503 without forwarding (an apiserver restarting, a load balancer without a backend);
 * - `429`: 429 with `Retry-After: 1`, without forwarding (priority and fairness throttling);
 * - `hang`: no answer for `hangMs`, then the connection is reset, without forwarding;
 * - `reset`: the connection is reset before forwarding;
 * - `lost-answer`: the request IS forwarded and done by the apiserver, then the connection is reset
 *   instead of answering: the client cannot tell it from `reset`, which is what makes a repeated
 *   create meet its own object.
 *
 * Which request gets which fault comes from a seeded generator, so a run can be repeated. The proxy
 * terminates TLS with its own CA (the client's kubeconfig names it) and forwards the request as sent,
 * its Authorization header included, to the apiserver, whose CA it checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../sandbox/pki';

export type FaultKind = '5xx' | '429' | 'hang' | 'reset' | 'lost-answer';
const KINDS: readonly FaultKind[] = ['5xx', '429', 'hang', 'reset', 'lost-answer'];

export interface FaultProxyOptions {
  /** The apiserver, https://127.0.0.1:<port>. */
  upstream: string;
  upstreamCaPem: string;
  /** Share of requests that get a fault, 0..1; the faults are spread evenly over the kinds. */
  rate: number;
  /** How long a hung call stays unanswered before its connection is reset. */
  hangMs: number;
  seed?: number;
}

export interface FaultStats {
  requests: number;
  faults: Record<FaultKind, number>;
}

export interface FaultProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  caPem: string;
  stats: FaultStats;
  /** From now on, every request is forwarded untouched. */
  heal(): void;
  close(): Promise<void>;
}

/** mulberry32: small, seeded, good enough to spread faults. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'penetrator-fault-proxy-'));
  const ca = await createCertificateAuthority(dir, 'penetrator-fault-proxy-ca');
  const cert = await issueCertificate(ca, {
    name: 'proxy',
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const upstream = new URL(options.upstream);
  const random = seeded(options.seed ?? 20261130);
  const stats: FaultStats = {
    requests: 0,
    faults: { '5xx': 0, '429': 0, hang: 0, reset: 0, 'lost-answer': 0 },
  };
  let healed = false;
  const timers = new Set<NodeJS.Timeout>();

  const pick = (): FaultKind | undefined => {
    if (healed || random() >= options.rate) return undefined;
    return KINDS[Math.floor(random() * KINDS.length)];
  };

  const forward = (req: IncomingMessage, body: Buffer, onAnswer: (answer: IncomingMessage) => void): void => {
    const out = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        ca: options.upstreamCaPem,
      },
      onAnswer,
    );
    out.on('error', () => req.socket.destroy());
    out.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    stats.requests += 1;
    const fault = pick();
    if (fault !== undefined) stats.faults[fault] += 1;
    switch (fault) {
      case '5xx':
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: 'injected: unavailable',
            code: 503,
          }),
        );
        return;
      case '429':
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: 'injected: too many requests',
            code: 429,
          }),
        );
        return;
      case 'hang': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          req.socket.destroy();
        }, options.hangMs);
        timers.add(timer);
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'lost-answer':
        forward(req, body, (answer) => {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
        });
        return;
      default:
        forward(req, body, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
    }
  };

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `https://127.0.0.1:${port}`,
    caPem: ca.certPem,
    stats,
    heal: () => {
      healed = true;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Share of requests that got a fault. */
export function faultRate(stats: FaultStats): number {
  const faults = Object.values(stats.faults).reduce((sum, n) => sum + n, 0);
  return stats.requests === 0 ? 0 : faults / stats.requests;
}
