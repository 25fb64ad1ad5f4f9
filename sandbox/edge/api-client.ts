import { request } from 'node:https';

/**
 * The few HTTPS calls the stand-in join makes, on Node's own https module: like kubeadm and the
 * kubelet, it talks to the apiserver with nothing but a CA, a bearer token or a client certificate.
 */

export interface Endpoint {
  host: string;
  port: number;
}

export interface Credentials {
  /** Pinned CA; absent only for the first, deliberately untrusted cluster-info fetch. */
  caPem?: string;
  bearerToken?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

export interface ApiResponse {
  status: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 10_000;

export function parseEndpoint(value: string): Endpoint {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid API server endpoint "${value}": expected <host>:<port> or [<ipv6>]:<port>`);
  }
  return { host, port };
}

export function apiRequest(
  endpoint: Endpoint,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  creds: Credentials,
  body?: { contentType: string; value: unknown },
): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body.value);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (creds.bearerToken !== undefined) headers.Authorization = `Bearer ${creds.bearerToken}`;
  if (body !== undefined && payload !== undefined) {
    headers['Content-Type'] = body.contentType;
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        method,
        path,
        headers,
        ca: creds.caPem,
        cert: creds.clientCertPem,
        key: creds.clientKeyPem,
        rejectUnauthorized: creds.caPem !== undefined,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${endpoint.host}:${endpoint.port} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The `message` of a Kubernetes Status body, or the start of whatever came back. */
export function statusMessage(response: ApiResponse): string {
  try {
    const parsed = JSON.parse(response.body) as { message?: string };
    if (parsed.message) return parsed.message;
  } catch {
    // Not a Status object.
  }
  return response.body.slice(0, 200);
}
