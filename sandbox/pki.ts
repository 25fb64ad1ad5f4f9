/**
 * The test cluster's PKI. Keys come from node:crypto; certificates are signed by the openssl CLI
 * because node can parse X.509 but not issue it. openssl runs through execFile with an argument
 * array (no shell), and each certificate gets its own small config file.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  keyPem: string;
  publicKeyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export interface CertificateAuthority extends IssuedCertificate {
  /** Directory the CA's files live in; issued certificates are written there too. */
  dir: string;
}

export interface CertificateRequest {
  /** File name stem: `<name>.crt` / `<name>.key`. */
  name: string;
  commonName: string;
  /** Subject O= values; Kubernetes reads them as groups of a client certificate. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'server-and-client';
  days?: number;
}

/** An EC P-256 key pair (PKCS#8 / SPKI PEM), accepted by every Kubernetes component for TLS. */
export function generateEcKey(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** An RSA key pair for service-account token signing (RS256 is what every verifier expects). */
export function generateRsaKey(bits = 2048): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function writePrivate(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600 });
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err: unknown) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Config values are ours (names, IPs), never user input; reject anything that could break the file. */
function configValue(value: string): string {
  if (!/^[A-Za-z0-9:.*_\- ]+$/.test(value))
    throw new Error(`unsupported character in certificate field: ${value}`);
  return value;
}

/** A self-signed CA valid for ten years. */
export async function createCertificateAuthority(
  dir: string,
  commonName = 'penetrator-test-ca',
): Promise<CertificateAuthority> {
  const key = generateEcKey();
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.crt');
  const configPath = join(dir, 'ca.cnf');
  writePrivate(keyPath, key.keyPem);
  writeFileSync(
    configPath,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${configValue(commonName)}`,
      '[ext]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await openssl([
    'req',
    '-x509',
    '-new',
    '-config',
    configPath,
    '-extensions',
    'ext',
    '-key',
    keyPath,
    '-days',
    '3650',
    '-sha256',
    '-out',
    certPath,
  ]);
  return { dir, certPath, keyPath, certPem: readFileSync(certPath, 'utf8'), keyPem: key.keyPem };
}

const USAGES: Record<CertificateRequest['usage'], string> = {
  server: 'serverAuth',
  client: 'clientAuth',
  'server-and-client': 'serverAuth, clientAuth',
};

/** A leaf certificate signed by `ca`, written to `<ca.dir>/<name>.crt|key`. */
export async function issueCertificate(
  ca: CertificateAuthority,
  req: CertificateRequest,
): Promise<IssuedCertificate> {
  const key = generateEcKey();
  const keyPath = join(ca.dir, `${req.name}.key`);
  const certPath = join(ca.dir, `${req.name}.crt`);
  const csrPath = join(ca.dir, `${req.name}.csr`);
  const configPath = join(ca.dir, `${req.name}.cnf`);
  writePrivate(keyPath, key.keyPem);

  const dn = [`CN = ${configValue(req.commonName)}`];
  (req.organizations ?? []).forEach((o, i) => dn.unshift(`${i}.O = ${configValue(o)}`));
  const sans = [
    ...(req.dnsNames ?? []).map((d) => `DNS:${configValue(d)}`),
    ...(req.ipAddresses ?? []).map((ip) => `IP:${configValue(ip)}`),
  ];
  writeFileSync(
    configPath,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      ...dn,
      '[ext]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      `extendedKeyUsage = ${USAGES[req.usage]}`,
      'authorityKeyIdentifier = keyid',
      ...(sans.length > 0 ? [`subjectAltName = ${sans.join(', ')}`] : []),
      '',
    ].join('\n'),
  );
  await openssl(['req', '-new', '-config', configPath, '-key', keyPath, '-out', csrPath]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csrPath,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-set_serial',
    `0x${randomBytes(15).toString('hex')}`,
    '-days',
    String(req.days ?? 365),
    '-sha256',
    '-extfile',
    configPath,
    '-extensions',
    'ext',
    '-out',
    certPath,
  ]);
  return { certPath, keyPath, certPem: readFileSync(certPath, 'utf8'), keyPem: key.keyPem };
}
