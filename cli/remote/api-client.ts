/**
 * The Penetrator HTTP API, called with SigV4 signatures (service execute-api) made from the caller's
 * AWS credentials. Each call has a deadline; a throttled or failed call is tried once more when that
 * cannot do a request twice; every answer that is not a success becomes an ApiError.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest, Provider } from '@smithy/types';
import { CliError } from '../output';
import { apiError, parseErrorBody } from './api-errors';
import type {
  CancelResponse,
  ClusterList,
  CredentialBody,
  EventList,
  SubmitResponse,
  TaskDetail,
  TaskList,
} from './api-types';
import { Sha256 } from './sha256';

export interface ApiClientOptions {
  /** The API's base URL, stage included: the stack output ApiUrl. */
  endpoint: URL;
  region: string;
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  /** Deadline of one attempt, connection to last byte. Default 30 s. */
  timeoutMs?: number;
  /** Pause before the one retry. Default 1 s. */
  retryDelayMs?: number;
}

export type DocumentType = 'application/json' | 'application/yaml';

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path segments below the endpoint, each encoded here. */
  segments: string[];
  query?: Record<string, string | undefined>;
  body?: string;
  contentType?: string;
}

interface Answer {
  status: number;
  text: string;
}

/** An answer larger than this is not the API's: reading stops instead of filling memory. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;

/** RFC 3986 encoding, the one SigV4's canonical request uses, so the signed and sent paths agree. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A failure of the connection itself; `sent` tells whether the server may have seen the request. */
class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly sent: boolean,
  ) {
    super(message);
  }
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export class ApiClient {
  private readonly signer: SignatureV4;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: ApiClientOptions) {
    this.signer = new SignatureV4({
      service: 'execute-api',
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  /** POST /tasks: starts a NodeTask's execution; the document is sent as written. */
  submitTask(document: string, type: DocumentType, cluster?: string): Promise<SubmitResponse> {
    return this.json({
      method: 'POST',
      segments: ['tasks'],
      query: { cluster },
      body: document,
      contentType: type,
    });
  }

  retryTask(name: string, cluster?: string): Promise<SubmitResponse> {
    return this.json({ method: 'POST', segments: ['tasks', name, 'retry'], query: { cluster } });
  }

  listTasks(cluster?: string): Promise<TaskList> {
    return this.json({ method: 'GET', segments: ['tasks'], query: { cluster } });
  }

  getTask(name: string, cluster?: string): Promise<TaskDetail> {
    return this.json({ method: 'GET', segments: ['tasks', name], query: { cluster } });
  }

  /** DELETE /tasks/{name}: stops the execution and cleans up what it created. */
  cancelTask(name: string, cluster?: string): Promise<CancelResponse> {
    return this.json({ method: 'DELETE', segments: ['tasks', name], query: { cluster } });
  }

  taskEvents(name: string, cluster?: string): Promise<EventList> {
    return this.json({ method: 'GET', segments: ['tasks', name, 'events'], query: { cluster } });
  }

  async putCredential(name: string, body: CredentialBody): Promise<void> {
    await this.call({
      method: 'PUT',
      segments: ['credentials', name],
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
  }

  async putCluster(
    name: string,
    kubeconfig: string,
    replace = false,
    directRanges?: readonly string[],
  ): Promise<void> {
    await this.call({
      method: 'PUT',
      segments: ['clusters', name],
      ...(replace ? { query: { replace: 'true' } } : {}),
      body: JSON.stringify({ kubeconfig, ...(directRanges ? { directRanges } : {}) }),
      contentType: 'application/json',
    });
  }

  listClusters(): Promise<ClusterList> {
    return this.json({ method: 'GET', segments: ['clusters'] });
  }

  private async json<T>(call: Call): Promise<T> {
    const answer = await this.call(call);
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw new CliError(
        `the API answered ${describe(call)} with something that is not JSON (HTTP ${answer.status})`,
        undefined,
        'check --endpoint (or PENETRATOR_ENDPOINT): it must be the stack output ApiUrl',
      );
    }
  }

  /** One call: an attempt, and one more when the first was throttled or failed where a retry is safe. */
  private async call(call: Call): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await this.attempt(call);
    } catch (error) {
      if (!(error instanceof TransportError) || !retryableTransport(call, error))
        throw this.unreachable(error);
      await pause(this.retryDelayMs);
      answer = await this.attempt(call).catch((second: unknown) => {
        throw this.unreachable(second);
      });
      return this.checked(call, answer);
    }
    if (retryableStatus(call, answer.status)) {
      await pause(this.retryDelayMs);
      answer = await this.attempt(call).catch((second: unknown) => {
        throw this.unreachable(second);
      });
    }
    return this.checked(call, answer);
  }

  private checked(call: Call, answer: Answer): Answer {
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw apiError(answer.status, parseErrorBody(answer.text), describe(call));
  }

  private unreachable(error: unknown): Error {
    if (error instanceof CliError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CliError(
      `cannot reach the Penetrator API at ${this.options.endpoint.origin}: ${message}`,
      undefined,
      'check --endpoint (or PENETRATOR_ENDPOINT) and your network',
    );
  }

  /** Signs and sends one request; resolves with any HTTP answer, rejects on a transport failure. */
  private async attempt(call: Call): Promise<Answer> {
    const signed = await this.sign(call);
    const url = this.options.endpoint;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...signed.headers };
    if (call.body !== undefined) headers['content-length'] = String(Buffer.byteLength(call.body));
    const search = queryString(call.query);
    return new Promise<Answer>((resolve, reject) => {
      let sent = false;
      const req = send(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          ...(url.port ? { port: Number(url.port) } : {}),
          method: call.method,
          path: search ? `${signed.path}?${search}` : signed.path,
          headers,
        },
        (res) => {
          readBody(res).then((text) => resolve({ status: res.statusCode ?? 0, text }), reject);
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new TransportError(`no answer within ${this.timeoutMs / 1000} s`, true));
      }, this.timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('finish', () => (sent = true));
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error instanceof TransportError) reject(error);
        else
          reject(
            new TransportError(error.code ?? error.message, sent || !NOT_SENT_CODES.has(error.code ?? '')),
          );
      });
      req.end(call.body);
    });
  }

  private async sign(call: Call): Promise<HttpRequest> {
    const url = this.options.endpoint;
    const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    const query = Object.fromEntries(
      Object.entries(call.query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const request: HttpRequest = {
      method: call.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: `${base}${call.segments.map(escapeUri).join('/')}`,
      query,
      headers: {
        host: url.host,
        accept: 'application/json',
        ...(call.contentType ? { 'content-type': call.contentType } : {}),
      },
      ...(call.body !== undefined ? { body: call.body } : {}),
    };
    try {
      return await this.signer.sign(request);
    } catch (error) {
      throw credentialsError(error);
    }
  }
}

function describe(call: Call): string {
  return `${call.method} /${call.segments.join('/')}`;
}

function queryString(query: Call['query']): string {
  return Object.entries(query ?? {})
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${escapeUri(key)}=${escapeUri(value)}`)
    .join('&');
}

/** POST starts an execution: repeating it after the server may have acted could start two. */
function retryableStatus(call: Call, status: number): boolean {
  if (status === 429 || status === 503) return true;
  return call.method !== 'POST' && (status === 500 || status === 502 || status === 504);
}

function retryableTransport(call: Call, error: TransportError): boolean {
  return !error.sent || call.method !== 'POST';
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    res.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_RESPONSE_BYTES) {
        res.destroy(new TransportError(`answer larger than ${MAX_RESPONSE_BYTES} bytes`, true));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** The credential chain's failure, said in terms of what to set; its own text never holds a secret. */
function credentialsError(error: unknown): CliError {
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  return new CliError(
    `no usable AWS credentials: ${message}`,
    undefined,
    'set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`',
  );
}
