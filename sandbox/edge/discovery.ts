import { X509Certificate, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parse } from 'yaml';
import { apiRequest, statusMessage, type Endpoint } from './api-client';
import { JoinError } from './join-error';

/**
 * Token-based discovery as `kubeadm join` does it: read kube-public/cluster-info without trusting
 * the server, pin its CA only if the CA's public key hash matches --discovery-token-ca-cert-hash,
 * check that the token signed the document (JWS, HS256), then read it again over the pinned CA.
 */

const CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
const JWS_PREFIX = 'jws-kubeconfig-';

export interface BootstrapToken {
  id: string;
  secret: string;
  /** `<id>.<secret>`: the bearer token. */
  value: string;
}

export function parseToken(value: string): BootstrapToken {
  const match = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(value);
  if (!match?.[1] || !match[2]) {
    // Never echo the value: it is a credential.
    throw new JoinError(
      'preflight',
      'the token does not match the bootstrap token format [a-z0-9]{6}.[a-z0-9]{16}',
    );
  }
  return { id: match[1], secret: match[2], value };
}

export function parseCaHash(value: string): string {
  const match = /^sha256:([a-f0-9]{64})$/.exec(value.toLowerCase());
  if (!match?.[1]) {
    throw new JoinError(
      'preflight',
      `invalid --discovery-token-ca-cert-hash "${value}": expected sha256:<64 hex digits>`,
    );
  }
  return match[1];
}

/** Hex SHA-256 of the certificate's DER SubjectPublicKeyInfo: what kubeadm pins. */
export function caPublicKeyHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/**
 * Verifies a detached JWS (`header..signature`) over `payload`, as the bootstrap signer makes it:
 * HS256 keyed with the token *secret*, the token id as `kid`.
 */
export function verifyDetachedJws(jws: string, payload: string, token: BootstrapToken): boolean {
  const [header, detached, signature] = jws.split('.');
  if (header === undefined || detached !== '' || signature === undefined) return false;
  let parsed: { alg?: string; kid?: string };
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: string; kid?: string };
  } catch {
    return false;
  }
  if (parsed.alg !== 'HS256' || (parsed.kid !== undefined && parsed.kid !== token.id)) return false;
  const signingInput = `${header}.${Buffer.from(payload).toString('base64url')}`;
  const expected = createHmac('sha256', token.secret).update(signingInput).digest();
  const actual = Buffer.from(signature, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

interface ClusterInfo {
  kubeconfig: string;
  jws: Record<string, string>;
}

async function fetchClusterInfo(endpoint: Endpoint, caPem?: string): Promise<ClusterInfo> {
  let response;
  try {
    response = await apiRequest(endpoint, 'GET', CLUSTER_INFO_PATH, caPem === undefined ? {} : { caPem });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new JoinError(
      'discovery',
      `cannot reach the API server at ${endpoint.host}:${endpoint.port}: ${reason}`,
    );
  }
  if (response.status !== 200) {
    throw new JoinError(
      'discovery',
      `cannot read kube-public/cluster-info (${response.status}): ${statusMessage(response)}`,
    );
  }
  const data = (JSON.parse(response.body) as { data?: Record<string, string> }).data ?? {};
  const kubeconfig = data.kubeconfig;
  if (!kubeconfig) throw new JoinError('discovery', 'kube-public/cluster-info has no kubeconfig');
  const jws: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith(JWS_PREFIX)) jws[key.slice(JWS_PREFIX.length)] = value;
  }
  return { kubeconfig, jws };
}

function caFromKubeconfig(kubeconfig: string): string {
  const doc = parse(kubeconfig) as {
    clusters?: Array<{ cluster?: { 'certificate-authority-data'?: string } }>;
  };
  const data = doc.clusters?.[0]?.cluster?.['certificate-authority-data'];
  if (!data)
    throw new JoinError('discovery', 'the cluster-info kubeconfig carries no certificate-authority-data');
  return Buffer.from(data, 'base64').toString('utf8');
}

export interface DiscoveryOptions {
  /** How long to wait for the bootstrap signer to sign cluster-info with this token. */
  signatureTimeoutMs: number;
}

/** Returns the CA, now trusted. Throws a JoinError naming what did not match. */
export async function discoverCluster(
  endpoint: Endpoint,
  token: BootstrapToken,
  expectedHash: string,
  opts: DiscoveryOptions,
): Promise<string> {
  const deadline = Date.now() + opts.signatureTimeoutMs;
  let info = await fetchClusterInfo(endpoint);
  // The bootstrap signer adds the token's signature shortly after the token is created; kubeadm waits.
  while (info.jws[token.id] === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    info = await fetchClusterInfo(endpoint);
  }
  const signature = info.jws[token.id];
  if (signature === undefined) {
    throw new JoinError(
      'discovery',
      `kube-public/cluster-info carries no JWS signature for token id "${token.id}": the token is unknown to this cluster, expired, or not usable for signing`,
    );
  }
  if (!verifyDetachedJws(signature, info.kubeconfig, token)) {
    throw new JoinError(
      'discovery',
      `the JWS signature of kube-public/cluster-info does not verify with the given token (id "${token.id}"): wrong token secret, refusing to trust this API server`,
    );
  }
  const caPem = caFromKubeconfig(info.kubeconfig);
  const actualHash = caPublicKeyHash(caPem);
  if (actualHash !== expectedHash) {
    throw new JoinError(
      'discovery',
      `the cluster CA's public key hash is sha256:${actualHash}, which does not match --discovery-token-ca-cert-hash sha256:${expectedHash}`,
    );
  }
  const secure = await fetchClusterInfo(endpoint, caPem);
  if (secure.kubeconfig !== info.kubeconfig) {
    throw new JoinError(
      'discovery',
      'kube-public/cluster-info changed between the untrusted and the trusted read',
    );
  }
  return caPem;
}
