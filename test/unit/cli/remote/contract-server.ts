/**
 * A real HTTP server on 127.0.0.1 that speaks the Penetrator API's contract, for the CLI's tests. It
 * records every request as received (path, query, headers, body, whether its signature verifies)
 * and answers from a small in-memory state; `script` queues exact answers for the error cases.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature, type Credentials } from './sigv4-verifier';

export const TEST_CREDENTIALS: Credentials & { sessionToken?: string } = {
  accessKeyId: 'AKIDEXAMPLETEST00001',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  signatureValid: boolean;
}

export interface Answer {
  status: number;
  body?: unknown;
  /** Never answer: the client's deadline must end the call. */
  hang?: boolean;
}

type Handler = (request: Recorded) => Answer;

export class ContractServer {
  readonly requests: Recorded[] = [];
  /** Answers used before the routes, first in first out, matched by "METHOD /path". */
  private readonly scripted: Array<{ route: string; answer: Answer }> = [];
  private readonly routes = new Map<string, Handler>();
  private server: Server | undefined;
  private readonly hanging = new Set<ServerResponse>();

  /** Answers `route` ("GET /prod/tasks") with `answer`, once, before any route handler. */
  script(route: string, answer: Answer): void {
    this.scripted.push({ route, answer });
  }

  /** Sets the handler of a route, for the rest of the test. */
  route(route: string, handler: Handler): void {
    this.routes.set(route, handler);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/prod/`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.scripted.length = 0;
    this.routes.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const recorded: Recorded = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      headers: req.headers,
      body,
      signatureValid: verifySignature(
        { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body },
        TEST_CREDENTIALS,
      ),
    };
    this.requests.push(recorded);
    const route = `${recorded.method} ${recorded.path}`;
    const index = this.scripted.findIndex((s) => s.route === route);
    const answer =
      index >= 0
        ? this.scripted.splice(index, 1)[0]!.answer
        : (this.routes.get(route)?.(recorded) ?? { status: 404, body: { message: `no route ${route}` } });
    if (answer.hang) {
      this.hanging.add(res);
      return;
    }
    const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, text ? { 'content-type': 'application/json' } : {});
    res.end(text);
  }
}
