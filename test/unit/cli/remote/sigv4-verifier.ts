/**
 * An independent SigV4 check (AWS's published algorithm, written out here rather than through the
 * signer the CLI uses), so a request whose wire form differs from what was signed fails the tests.
 */
import { createHash, createHmac } from 'node:crypto';

export interface ReceivedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAuthorization(value: string | undefined): ParsedAuthorization | undefined {
  const m = AUTHORIZATION.exec(value ?? '');
  if (!m) return undefined;
  return {
    accessKeyId: m[1]!,
    date: m[2]!,
    region: m[3]!,
    service: m[4]!,
    signedHeaders: m[5]!.split(';'),
    signature: m[6]!,
  };
}

const escape = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

function header(headers: ReceivedRequest['headers'], name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().replace(/\s+/g, ' ');
}

/** True when the Authorization header is a valid signature of this request by these credentials. */
export function verifySignature(request: ReceivedRequest, credentials: Credentials): boolean {
  const auth = parseAuthorization(header(request.headers, 'authorization'));
  if (!auth || auth.accessKeyId !== credentials.accessKeyId) return false;
  const amzDate = header(request.headers, 'x-amz-date');
  if (!amzDate.startsWith(auth.date)) return false;
  const url = new URL(request.url, 'http://placeholder');
  // Services other than S3 encode the path once more for the canonical request.
  const canonicalUri = url.pathname.split('/').map(escape).join('/');
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [escape(k), escape(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = auth.signedHeaders.map((h) => `${h}:${header(request.headers, h)}\n`).join('');
  const payloadHash = header(request.headers, 'x-amz-content-sha256') || sha256(request.body);
  const canonicalRequest = [
    request.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, auth.date);
  for (const part of [auth.region, auth.service, 'aws4_request']) key = hmac(key, part);
  return hmac(key, stringToSign).toString('hex') === auth.signature;
}
