/**
 * The apiserver's REST API over node:https, for the Kube adapter (kube.ts). The product reads and
 * writes a handful of kinds whose paths are known, from kubeconfigs that embed everything they need
 * (domain/kubeconfig.ts refuses files and plugins), so a generated client of every API and its
 * discovery calls would only weigh on each Lambda's bundle and cold start (docs/adr/0021).
 */
import { Agent, request } from 'node:https';
import type { ObjectKind } from '../domain/kube-types';
import { parseYamlValue } from '../domain/yaml-text';

/** Each kind's resource name in URL paths. A new kind fails to compile until it is named here. */
const RESOURCES: Record<ObjectKind, string> = {
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Job: 'jobs',
  Lease: 'leases',
  Event: 'events',
  Node: 'nodes',
  Pod: 'pods',
  CustomResourceDefinition: 'customresourcedefinitions',
  NodeTask: 'nodetasks',
};

/** The kind's resource name, as URLs and RBAC rules spell it (`jobs`, `nodetasks`). */
export function resourceOf(kind: ObjectKind): string {
  return RESOURCES[kind];
}

/** Bodies above this are refused: a page of 500 objects is a few MiB. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** An answer with an HTTP error status; `body` is the apiserver's Status text, never shown whole. */
export class KubeHttpError extends Error {
  override readonly name = 'KubeHttpError';
  constructor(
    readonly code: number,
    readonly body: string,
    /** The apiserver's Retry-After, in seconds, when it sent one (429, some 503s). */
    readonly retryAfterSeconds?: number,
  ) {
    super(`HTTP ${code}`);
  }
}

export interface ResourcePath {
  apiVersion: string;
  kind: ObjectKind;
  namespace?: string;
  name?: string;
}

/** `/api/v1/namespaces/ns/pods/name`, `/apis/batch/v1/jobs`, … (no name: the collection). */
export function resourcePath(ref: ResourcePath): string {
  const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const scope = ref.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(ref.namespace)}`;
  const name = ref.name === undefined ? '' : `/${encodeURIComponent(ref.name)}`;
  return `${base}${scope}/${RESOURCES[ref.kind]}${name}`;
}

interface Connection {
  server: URL;
  agent: Agent;
  authorization?: string;
}

type Entry = Record<string, unknown>;
const isEntry = (value: unknown): value is Entry =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function named(doc: Entry, section: string, name: unknown, field: string): Entry {
  const list = Array.isArray(doc[section]) ? (doc[section] as unknown[]) : [];
  const entry = list.find((e) => isEntry(e) && e.name === name);
  const body = isEntry(entry) ? entry[field] : undefined;
  return isEntry(body) ? body : {};
}

const decoded = (value: unknown): string | undefined =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : undefined;

/**
 * The current context's server, CA, and credential (a token, a client certificate, or a user name
 * and password). The document was judged by kubeconfigProblems before it gets here.
 */
export function connectionFromKubeconfig(kubeconfigYaml: string): Connection {
  const doc = parseYamlValue(kubeconfigYaml, 10);
  if (!isEntry(doc)) throw new Error('the kubeconfig is not a mapping');
  const context = named(doc, 'contexts', doc['current-context'], 'context');
  const cluster = named(doc, 'clusters', context.cluster, 'cluster');
  const user = named(doc, 'users', context.user, 'user');
  if (typeof cluster.server !== 'string') throw new Error('the current context names no server');
  const serverName = cluster['tls-server-name'];
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: decoded(cluster['certificate-authority-data']),
    cert: decoded(user['client-certificate-data']),
    key: decoded(user['client-key-data']),
    ...(typeof serverName === 'string' ? { servername: serverName } : {}),
  });
  let authorization: string | undefined;
  if (typeof user.token === 'string' && user.token !== '') authorization = `Bearer ${user.token}`;
  else if (typeof user.username === 'string' && typeof user.password === 'string') {
    authorization = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  }
  return { server: new URL(cluster.server), agent, ...(authorization ? { authorization } : {}) };
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
}

/** One REST call: the parsed JSON answer, or KubeHttpError for an error status. */
export class KubeHttp {
  constructor(private readonly connection: Connection) {}

  static fromKubeconfig(kubeconfigYaml: string): KubeHttp {
    return new KubeHttp(connectionFromKubeconfig(kubeconfigYaml));
  }

  call<T>(req: KubeRequest): Promise<T> {
    const { server, agent, authorization } = this.connection;
    // A server URL may carry a path prefix (an authenticating proxy in front of the apiserver).
    const url = new URL(server.pathname.replace(/\/$/, '') + req.path, server);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'penetrator' };
    if (authorization) headers.Authorization = authorization;
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<T>((resolve, reject) => {
      const sent = request(url, { method: req.method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(new Error(`the answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const after = Number(res.headers['retry-after']);
            return reject(
              new KubeHttpError(status, text, Number.isFinite(after) && after >= 0 ? after : undefined),
            );
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch {
            reject(new Error(`the apiserver answered ${status} with a body that is not JSON`));
          }
        });
      });
      // The caller's deadline answers first; this only frees the socket of a call nobody awaits.
      sent.setTimeout(60_000, () =>
        sent.destroy(Object.assign(new Error('no answer within 60 s'), { code: 'ETIMEDOUT' })),
      );
      sent.on('error', reject);
      if (payload !== undefined) sent.write(payload);
      sent.end();
    });
  }
}
