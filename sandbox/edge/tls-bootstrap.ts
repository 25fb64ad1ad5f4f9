import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { apiRequest, statusMessage, type Endpoint } from './api-client';
import type { BootstrapToken } from './discovery';
import { JoinError } from './join-error';

/**
 * The kubelet's TLS bootstrap: with the bootstrap token, submit a CertificateSigningRequest for
 * `system:node:<name>` in group `system:nodes`, wait until the controller manager approves and signs
 * it, and return the node's own client credentials. Everything after this runs as the node.
 */

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
}

/** Writes a new P-256 key to keyPath and returns a PEM CSR for the node's client identity. */
function createCsr(nodeName: string, keyPath: string): string {
  // nodeName is a validated DNS-1123 subdomain, so the subject needs no escaping; no shell is involved.
  return execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-nodes',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-keyout',
      keyPath,
      '-subj',
      `/O=system:nodes/CN=system:node:${nodeName}`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

function rejectedToken(status: number, message: string): JoinError {
  if (status === 401) {
    return new JoinError(
      'kubelet-start',
      `the API server rejected the bootstrap token (401 Unauthorized): check --token`,
    );
  }
  return new JoinError('kubelet-start', `cannot create a CertificateSigningRequest (${status}): ${message}`);
}

interface CsrObject {
  metadata?: { name?: string };
  status?: { certificate?: string; conditions?: Array<{ type?: string; reason?: string; message?: string }> };
}

export interface BootstrapRequest {
  endpoint: Endpoint;
  caPem: string;
  token: BootstrapToken;
  nodeName: string;
  /** Where the node's new private key is written. */
  keyPath: string;
  /** How long to wait for approval and signing. */
  timeoutMs: number;
}

async function submitCsr(req: BootstrapRequest, csrPem: string): Promise<string> {
  const created = await apiRequest(
    req.endpoint,
    'POST',
    CSR_PATH,
    { caPem: req.caPem, bearerToken: req.token.value },
    {
      contentType: 'application/json',
      value: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { generateName: 'node-csr-' },
        spec: {
          request: Buffer.from(csrPem).toString('base64'),
          signerName: KUBELET_CLIENT_SIGNER,
          usages: ['digital signature', 'client auth'],
        },
      },
    },
  );
  if (created.status !== 201) throw rejectedToken(created.status, statusMessage(created));
  return (JSON.parse(created.body) as CsrObject).metadata?.name ?? '';
}

/** The signed certificate once the CSR is approved and issued; undefined while it is pending. */
async function issuedCertificate(req: BootstrapRequest, name: string): Promise<string | undefined> {
  const current = await apiRequest(req.endpoint, 'GET', `${CSR_PATH}/${name}`, {
    caPem: req.caPem,
    bearerToken: req.token.value,
  });
  if (current.status !== 200) throw rejectedToken(current.status, statusMessage(current));
  const csr = JSON.parse(current.body) as CsrObject;
  const refusal = csr.status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
  if (refusal) {
    const why = refusal.message ?? refusal.reason ?? '';
    throw new JoinError(
      'kubelet-start',
      `CertificateSigningRequest ${name} was ${refusal.type?.toLowerCase()}: ${why}`,
    );
  }
  const certificate = csr.status?.certificate;
  return certificate ? Buffer.from(certificate, 'base64').toString('utf8') : undefined;
}

export async function bootstrapClientCertificate(req: BootstrapRequest): Promise<NodeCredentials> {
  const name = await submitCsr(req, createCsr(req.nodeName, req.keyPath));
  const deadline = Date.now() + req.timeoutMs;
  while (Date.now() < deadline) {
    const certPem = await issuedCertificate(req, name);
    if (certPem !== undefined) return { certPem, keyPem: readFileSync(req.keyPath, 'utf8') };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new JoinError(
    'kubelet-start',
    `CertificateSigningRequest ${name} was not approved and signed within ${req.timeoutMs} ms: is the token's group allowed to auto-approve node client certificates?`,
  );
}
