import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeFromKubeconfig } from '../../../lambdas/adapters/kube';
import { ErrorNames } from '../../../lambdas/errors';

/** Any CA: the server under test never completes a TLS handshake. */
const TEST_CA = Buffer.from(readFileSync('test/fixtures/certs/kubernetes-ca.crt', 'utf8')).toString('base64');

/** A loopback server that accepts connections and never says a word: a hung apiserver. */
let server: Server;
const sockets: Socket[] = [];
let port: number;

beforeAll(async () => {
  server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('kube adapter deadline', () => {
  it('gives up on an apiserver that does not answer with a retryable Transient error', async () => {
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': TEST_CA },
        },
      ],
      users: [{ name: 'u', user: { token: 'hung-token' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    });
    const kube = kubeFromKubeconfig('hung', kubeconfig, { timeoutMs: 300 });
    const started = Date.now();
    const error = await kube.get({ kind: 'Node', name: 'n' }).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: ErrorNames.Transient, retryable: true });
    expect((error as Error).message).toBe('cluster hung: cannot get Node n: ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
