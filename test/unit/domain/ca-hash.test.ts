import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caCertHash, joinAddress, parseClusterInfo } from '../../../lambdas/domain/ca-hash';
import { ErrorNames } from '../../../lambdas/errors';

const certs = join(import.meta.dirname, '../../fixtures/certs');
const read = (name: string): string => readFileSync(join(certs, name), 'utf8');

/**
 * Expected values come from an independent oracle, the command kubeadm's documentation gives:
 *   openssl x509 -in <cert> -pubkey -noout | openssl pkey -pubin -outform der | sha256sum
 */
const EXPECTED = {
  'kubernetes-ca.crt': 'sha256:defd7985eb27fc71ae200c4c16f4f2a516055bd553004a792ae749149a79e010',
  'kubernetes-ca-rsa.crt': 'sha256:7e9af76e6a5dca65136262ff25aa4f85b7763f22b898228eb0058a0556cb39d9',
};

describe('caCertHash', () => {
  it.each(Object.entries(EXPECTED))('hashes the SubjectPublicKeyInfo of %s', (file, expected) => {
    expect(caCertHash(read(file))).toBe(expected);
  });

  it('refuses text that is not a certificate', () => {
    expect(() => caCertHash('-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n')).toThrow(
      expect.objectContaining({ name: ErrorNames.ClusterInfoInvalid }),
    );
  });
});

describe('parseClusterInfo', () => {
  it('reads the first cluster of the cluster-info kubeconfig', () => {
    const info = parseClusterInfo(read('cluster-info.kubeconfig.yaml'));
    expect(info.server).toBe('https://198.18.0.1:6443');
    expect(info.caPem).toBe(read('kubernetes-ca.crt'));
    expect(caCertHash(info.caPem)).toBe(EXPECTED['kubernetes-ca.crt']);
  });

  it.each([
    ['not: [valid', /cluster-info: the kubeconfig is not YAML/],
    ['clusters: []', /cluster-info: the kubeconfig lists no clusters/],
    ['clusters: [{name: a}]', /cluster-info: the first cluster entry has no `cluster` object/],
    [
      'clusters: [{cluster: {server: "http://x"}}]',
      /cluster-info: the first cluster has no https server address/,
    ],
    [
      'clusters: [{cluster: {server: "https://x:6443"}}]',
      /cluster-info: the first cluster has no certificate-authority-data/,
    ],
    [
      'clusters: [{cluster: {server: "https://x:6443", certificate-authority-data: aGVsbG8=}}]',
      /cluster-info: certificate-authority-data does not decode to a PEM certificate/,
    ],
  ])('refuses %j with a clear ClusterInfoInvalid error', (text, message) => {
    expect(() => parseClusterInfo(text)).toThrow(message);
    expect(() => parseClusterInfo(text)).toThrow(
      expect.objectContaining({ name: ErrorNames.ClusterInfoInvalid }),
    );
  });
});

describe('joinAddress', () => {
  it.each([
    ['https://198.18.0.1:6443', '198.18.0.1:6443'],
    ['https://api.example.test', 'api.example.test:443'],
    ['https://[2001:db8::1]:6443/', '[2001:db8::1]:6443'],
  ])('%s joins as %s', (server, address) => {
    expect(joinAddress(server)).toBe(address);
  });
});
