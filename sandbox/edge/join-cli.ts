import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseEndpoint } from './api-client';
import { discoverCluster, parseCaHash, parseToken } from './discovery';
import { JoinError } from './join-error';
import { registerNode } from './node-registration';
import { bootstrapClientCertificate } from './tls-bootstrap';

/**
 * The stand-in `edgeadm` / `kubeadm` installed on every test edge machine. `join` does what the
 * cluster can observe of a real join (discovery with CA pinning and JWS check, kubelet TLS bootstrap,
 * Node registration, Ready); `reset -f` forgets the join on the machine but, like the real one, leaves
 * the Node object alone. State lives in /etc/kubernetes, which is private to each machine.
 *
 *   <edgeadm|kubeadm> join <host:port> --token <id.secret> --discovery-token-ca-cert-hash sha256:<hex>
 *                          --node-name <name> [--install-pkg-path <file>   (edgeadm: required)]
 *   <edgeadm|kubeadm> join --config <JoinConfiguration file> [--install-pkg-path <file>  (edgeadm)]
 *
 * As with the real tools, --config cannot be mixed with the flags and endpoint it replaces.
 *   <edgeadm|kubeadm> reset -f | --force
 *
 * For the tests that look from the machine's side, every join appends to a journal in /etc/kubernetes
 * (which reset leaves alone) one line when it starts and one when it ends, however it ends (a TERM
 * included), so overlapping joins show. PENETRATOR_STAND_IN_JOIN_DELAY_MS (set by the machine's
 * wrapper) makes each join pause after its checks, so that a test can act while one runs.
 */

type Profile = 'edgeadm' | 'kubeadm';

const STATE_DIR = '/etc/kubernetes';
const STATE_FILE = join(STATE_DIR, 'stand-in-join.json');
const JOURNAL_FILE = join(STATE_DIR, 'stand-in-joins.jsonl');
const CA_FILE = join(STATE_DIR, 'pki', 'ca.crt');
const CLIENT_KEY_FILE = join(STATE_DIR, 'pki', 'kubelet-client.key');
const CLIENT_CERT_FILE = join(STATE_DIR, 'pki', 'kubelet-client.crt');
const SIGNATURE_TIMEOUT_MS = 20_000;
const CSR_TIMEOUT_MS = 60_000;

const ARCHES: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface JoinArgs {
  endpoint: string;
  token: string;
  caHash: string;
  nodeName: string;
  installPackage?: string;
}

/** Splits `--flag value` and `--flag=value` options from positional arguments. */
function parseOptions(
  args: string[],
  known: readonly string[],
): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!known.includes(name)) throw new JoinError('preflight', `unknown flag: --${name}`);
    const value = eq === -1 ? args[(i += 1)] : arg.slice(eq + 1);
    if (value === undefined) throw new JoinError('preflight', `flag --${name} needs a value`);
    flags.set(name, value);
  }
  return { positional, flags };
}

/** Flags a join configuration file replaces; kubeadm refuses to mix them with --config. */
const CONFIG_REPLACES = ['token', 'discovery-token-ca-cert-hash', 'node-name'];

function checkNodeName(nodeName: string, source: string): string {
  if (nodeName.length > 253 || !DNS_SUBDOMAIN.test(nodeName)) {
    throw new JoinError(
      'preflight',
      `${source} "${nodeName}" is not a valid node name (lowercase RFC 1123 subdomain)`,
    );
  }
  return nodeName;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A kubeadm JoinConfiguration (v1beta3 or v1beta4) with bootstrap-token discovery, as
 * `kubeadm join --config` reads it: the endpoint, the token, the CA pin and the node name.
 */
function readJoinConfiguration(path: string): Omit<JoinArgs, 'installPackage'> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not YAML';
    throw new JoinError('preflight', `unable to read config from "${path}": ${reason}`);
  }
  const config = isRecord(doc) ? doc : {};
  if (
    config.kind !== 'JoinConfiguration' ||
    !/^kubeadm\.k8s\.io\/v1beta[34]$/.test(String(config.apiVersion))
  ) {
    throw new JoinError('preflight', `${path} is not a kubeadm.k8s.io/v1beta3 or v1beta4 JoinConfiguration`);
  }
  const discovery = isRecord(config.discovery) ? config.discovery : {};
  const token = isRecord(discovery.bootstrapToken) ? discovery.bootstrapToken : {};
  const registration = isRecord(config.nodeRegistration) ? config.nodeRegistration : {};
  const hashes = Array.isArray(token.caCertHashes) ? token.caCertHashes : [];
  const field = (value: unknown, name: string): string => {
    if (typeof value !== 'string' || value === '')
      throw new JoinError('preflight', `${path}: ${name} is missing`);
    return value;
  };
  return {
    endpoint: field(token.apiServerEndpoint, 'discovery.bootstrapToken.apiServerEndpoint'),
    token: field(token.token, 'discovery.bootstrapToken.token'),
    caHash: field(hashes[0], 'discovery.bootstrapToken.caCertHashes'),
    nodeName: checkNodeName(field(registration.name, 'nodeRegistration.name'), 'nodeRegistration.name'),
  };
}

function parseJoinArgs(profile: Profile, args: string[]): JoinArgs {
  const known = ['config', ...CONFIG_REPLACES, ...(profile === 'edgeadm' ? ['install-pkg-path'] : [])];
  const { positional, flags } = parseOptions(args, known);
  const required = (name: string): string => {
    const value = flags.get(name);
    if (!value) throw new JoinError('preflight', `missing required flag --${name}`);
    return value;
  };
  const installPackage = profile === 'edgeadm' ? required('install-pkg-path') : undefined;
  const configPath = flags.get('config');
  if (configPath !== undefined) {
    const mixed = [
      ...CONFIG_REPLACES.filter((f) => flags.has(f)),
      ...(positional.length > 0 ? ['endpoint'] : []),
    ];
    if (mixed.length > 0) {
      throw new JoinError('preflight', `can not mix '--config' with arguments [${mixed.join(' ')}]`);
    }
    return { ...readJoinConfiguration(configPath), installPackage };
  }
  if (positional.length !== 1)
    throw new JoinError('preflight', `expected exactly one API server endpoint, got ${positional.length}`);
  return {
    endpoint: positional[0] ?? '',
    token: required('token'),
    caHash: required('discovery-token-ca-cert-hash'),
    nodeName: checkNodeName(required('node-name'), '--node-name'),
    installPackage,
  };
}

function machineArch(): string {
  const machine = execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim();
  const arch = ARCHES[machine];
  if (!arch)
    throw new JoinError(
      'preflight',
      `unsupported machine architecture "${machine}" (supported: x86_64, aarch64)`,
    );
  return arch;
}

/** The machine's own address, as the kubelet picks it: the first non-loopback IPv4 address. */
function machineAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new JoinError('preflight', 'the machine has no non-loopback IPv4 address');
}

function checkInstallPackage(path: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new JoinError('preflight', `install package ${path} does not exist`);
  }
  if (!stat.isFile()) throw new JoinError('preflight', `install package ${path} is not a regular file`);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

type JoinOutcome = 'joined' | 'failed' | 'terminated';

/** One journal line; appendFileSync with a short line is one write, so lines never interleave. */
function journal(event: 'start' | 'end', outcome?: JoinOutcome): void {
  const line = { event, pid: process.pid, at: Date.now(), ...(outcome ? { outcome } : {}) };
  mkdirSync(STATE_DIR, { recursive: true });
  appendFileSync(JOURNAL_FILE, `${JSON.stringify(line)}\n`);
}

function joinDelayMs(): number {
  const value = Number(process.env.PENETRATOR_STAND_IN_JOIN_DELAY_MS ?? '0');
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** The join between its journal lines: a TERM (the install being stopped) is journalled, then ends it. */
async function journalledJoin(profile: Profile, args: string[]): Promise<void> {
  journal('start');
  const onTerm = (): void => {
    journal('end', 'terminated');
    process.exit(143);
  };
  process.on('SIGTERM', onTerm);
  try {
    await joinCluster(profile, args);
    journal('end', 'joined');
  } catch (error) {
    journal('end', 'failed');
    throw error;
  } finally {
    process.off('SIGTERM', onTerm);
  }
}

async function joinCluster(profile: Profile, args: string[]): Promise<void> {
  const parsed = parseJoinArgs(profile, args);
  if (existsSync(STATE_FILE)) {
    throw new JoinError(
      'preflight',
      `${STATE_FILE} already exists: this machine already joined a cluster, run '${profile} reset -f' first`,
    );
  }
  const endpoint = parseEndpoint(parsed.endpoint);
  const token = parseToken(parsed.token);
  const expectedHash = parseCaHash(parsed.caHash);
  const packageSha256 =
    parsed.installPackage === undefined ? undefined : checkInstallPackage(parsed.installPackage);
  const arch = machineArch();
  const internalIp = machineAddress();
  if (packageSha256 !== undefined) console.log(`[preflight] install package ${parsed.installPackage} found`);
  const delay = joinDelayMs();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));

  console.log(`[discovery] reading cluster-info from ${parsed.endpoint}`);
  const caPem = await discoverCluster(endpoint, token, expectedHash, {
    signatureTimeoutMs: SIGNATURE_TIMEOUT_MS,
  });
  console.log('[discovery] cluster-info signature and CA public key pin verified');
  mkdirSync(join(STATE_DIR, 'pki'), { recursive: true, mode: 0o700 });
  writeFileSync(CA_FILE, caPem);

  console.log('[kubelet-start] requesting a client certificate for the node (TLS bootstrap)');
  const creds = await bootstrapClientCertificate({
    endpoint,
    caPem,
    token,
    nodeName: parsed.nodeName,
    keyPath: CLIENT_KEY_FILE,
    timeoutMs: CSR_TIMEOUT_MS,
  });
  writeFileSync(CLIENT_CERT_FILE, creds.certPem);
  const outcome = await registerNode(endpoint, caPem, creds, { name: parsed.nodeName, arch, internalIp });
  console.log(
    `[kubelet-start] Node ${parsed.nodeName} ${outcome === 'created' ? 'registered' : 'already existed and was updated'}; reported Ready`,
  );

  const state = {
    installer: profile,
    nodeName: parsed.nodeName,
    apiServer: parsed.endpoint,
    caCertHash: `sha256:${expectedHash}`,
    arch,
    internalIp,
    installPackage: parsed.installPackage,
    installPackageSha256: packageSha256,
    joinedAt: new Date().toISOString(),
  };
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  console.log('\nThis node has joined the cluster.');
}

function reset(profile: Profile, args: string[]): void {
  if (!args.some((arg) => arg === '-f' || arg === '--force')) {
    throw new JoinError(
      'reset',
      `'${profile} reset' asks for confirmation; pass -f (--force) when running non-interactively`,
    );
  }
  // Like kubeadm, clear the directory's content, not the directory: it is the machine's mount point.
  if (existsSync(STATE_DIR)) {
    for (const entry of ['stand-in-join.json', 'pki'])
      rmSync(join(STATE_DIR, entry), { recursive: true, force: true });
  }
  console.log(
    '[reset] removed the join state; the Node object, if any, is left for the cluster admin to delete',
  );
}

async function main(argv: string[]): Promise<number> {
  const [profile, command, ...rest] = argv;
  if (profile !== 'edgeadm' && profile !== 'kubeadm') {
    console.error('stand-in join: the first argument must be edgeadm or kubeadm');
    return 2;
  }
  try {
    if (command === 'join') await journalledJoin(profile, rest);
    else if (command === 'reset') reset(profile, rest);
    else {
      console.error(`usage: ${profile} join <host:port> --token … | ${profile} reset -f`);
      return 2;
    }
    return 0;
  } catch (error) {
    if (error instanceof JoinError) console.error(`error execution phase ${error.phase}: ${error.message}`);
    else console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
