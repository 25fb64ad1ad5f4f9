/**
 * The join parameters read from kube-public/cluster-info: the apiserver address and the CA hash that
 * `kubeadm join --discovery-token-ca-cert-hash` (and edgeadm) pin the cluster with.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { ClusterInfoInvalidError } from '../errors';

/** `sha256:<hex>` of the DER SubjectPublicKeyInfo of the (first) certificate in caPem. */
export function caCertHash(caPem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(caPem);
  } catch (error) {
    throw new ClusterInfoInvalidError(
      `cluster-info: the certificate authority is not a PEM certificate (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(what: string): ClusterInfoInvalidError {
  return new ClusterInfoInvalidError(`cluster-info: ${what}`);
}

/**
 * Reads the `kubeconfig` key of the cluster-info ConfigMap: the first cluster's server and its
 * certificate-authority-data as PEM. The ConfigMap is public, so nothing here is secret.
 */
export function parseClusterInfo(kubeconfigYaml: string): { server: string; caPem: string } {
  const cluster = firstCluster(kubeconfigYaml);
  const server = cluster.server;
  if (typeof server !== 'string' || !/^https:\/\/\S+$/.test(server)) {
    throw invalid('the first cluster has no https server address');
  }
  return { server, caPem: caPemOf(cluster['certificate-authority-data']) };
}

function firstCluster(kubeconfigYaml: string): Record<string, unknown> {
  let config: unknown;
  try {
    config = parse(kubeconfigYaml, { maxAliasCount: 10 });
  } catch (error) {
    throw invalid(
      `the kubeconfig is not YAML (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
  if (!isRecord(config) || !Array.isArray(config.clusters) || config.clusters.length === 0) {
    throw invalid('the kubeconfig lists no clusters');
  }
  const entry: unknown = config.clusters[0];
  const cluster = isRecord(entry) ? entry.cluster : undefined;
  if (!isRecord(cluster)) throw invalid('the first cluster entry has no `cluster` object');
  return cluster;
}

function caPemOf(data: unknown): string {
  if (typeof data !== 'string' || data.trim() === '') {
    throw invalid('the first cluster has no certificate-authority-data');
  }
  const caPem = Buffer.from(data.trim(), 'base64').toString('utf8');
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw invalid('certificate-authority-data does not decode to a PEM certificate');
  }
  return caPem;
}
/** `https://10.0.0.1:6443` → `10.0.0.1:6443` (the join address), with the default port made explicit. */
export function joinAddress(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalid(`server ${JSON.stringify(server.slice(0, 100))} is not a URL`);
  }
  return `${url.hostname}:${url.port === '' ? '443' : url.port}`;
}
