/**
 * A real Kubernetes control plane for the integration tests: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler, built by build-binaries.sh and started as local
 * processes on loopback. After start it looks like a fresh kubeadm cluster: kube-public/cluster-info
 * is published and readable anonymously, bootstrap tokens are signed into it, and nodes can join with
 * a bootstrap token through the CSR flow.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createCertificateAuthority, generateRsaKey, issueCertificate } from './pki';
import {
  createOwnedDir,
  freePorts,
  markKept,
  spawnManaged,
  tailFile,
  waitFor,
  type ManagedProcess,
} from './process';

export interface ControlPlane {
  /** The cluster's temp dir: PKI, etcd data, kubeconfigs, logs. Removed by stop(). */
  dir: string;
  /** `<dir>/logs`, one `<component>.log` per process. */
  logsDir: string;
  /** https://127.0.0.1:<port>, for clients on this host. */
  server: string;
  /** https://<advertiseAddress>:<port>, what cluster-info publishes to joining nodes. */
  siteServer: string;
  caPem: string;
  /** Bearer token of a system:masters user. Never log it. */
  adminToken: string;
  /** Admin kubeconfig (server 127.0.0.1, the admin token), mode 0600. */
  kubeconfigPath: string;
  kubeconfigYaml: string;
  /** Pids of the control-plane processes (etcd, apiserver, controller manager, scheduler). */
  pids: Record<ComponentName, number>;
  /** With `auditedUsers`: each user's kubeconfig (a system:masters token), by user name. */
  userKubeconfigs: Record<string, string>;
  /** With `auditedUsers`: the apiserver's audit log (one JSON line per request of those users). */
  auditLogPath?: string;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Address published in cluster-info and the apiserver's --advertise-address. Default 127.0.0.1. */
  advertiseAddress?: string;
  /** Parent directory of the cluster's temp dir. Default os.tmpdir(). */
  workDir?: string;
  /** Keep the temp dir when start fails (PENETRATOR_KEEP_CLUSTER=1 keeps it always). */
  keepOnFailure?: boolean;
  /**
   * Users the apiserver counts for the benchmark: each gets its own static token and kubeconfig
   * (`userKubeconfigs`), and every request of theirs, and only theirs, goes to `auditLogPath`.
   */
  auditedUsers?: string[];
}

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export const KUBERNETES_VERSION = 'v1.37.2';
export const SERVICE_CIDR = '10.96.0.0/24';
const FIRST_SERVICE_IP = '10.96.0.1';
const CLUSTER_NAME = 'penetrator-test';

const here = fileURLToPath(new URL('.', import.meta.url));
export const BIN_DIR = resolve(here, '.build', 'bin');

/** Controllers the product relies on; bootstrap-signer and token-cleaner are off by default upstream. */
const CONTROLLERS = [
  'job-controller',
  'garbage-collector-controller',
  'ttl-after-finished-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
  'bootstrap-signer-controller',
  'token-cleaner-controller',
  'certificatesigningrequest-signing-controller',
  'certificatesigningrequest-approving-controller',
  'certificatesigningrequest-cleaner-controller',
  'pod-garbage-collector-controller',
];

const TIMEOUTS = { etcd: 30_000, apiserver: 90_000, component: 60_000, serviceAccount: 60_000 };

function binary(name: string): string {
  const path = join(BIN_DIR, name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found in ${BIN_DIR}: run 'bash sandbox/build-binaries.sh' first`);
  }
  return path;
}

function token(): string {
  return randomBytes(24).toString('hex');
}

/** GET over https; resolves with the status code and body. Loopback only. */
function httpsGet(
  url: string,
  opts: { ca?: string; bearer?: string; insecure?: boolean },
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: opts.ca,
        rejectUnauthorized: opts.insecure !== true,
        headers: opts.bearer ? { Authorization: `Bearer ${opts.bearer}` } : {},
        timeout: 3_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export interface KubeconfigInput {
  server: string;
  caPem: string;
  user: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

/** A kubeconfig document with one cluster, one user and one current context. */
export function buildKubeconfig(input: KubeconfigInput): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const user: Record<string, string> = {};
  if (input.token !== undefined) user.token = input.token;
  if (input.clientCertPem !== undefined) user['client-certificate-data'] = b64(input.clientCertPem);
  if (input.clientKeyPem !== undefined) user['client-key-data'] = b64(input.clientKeyPem);
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: CLUSTER_NAME,
        cluster: { server: input.server, 'certificate-authority-data': b64(input.caPem) },
      },
    ],
    users: [{ name: input.user, user }],
    contexts: [
      { name: `${input.user}@${CLUSTER_NAME}`, context: { cluster: CLUSTER_NAME, user: input.user } },
    ],
    'current-context': `${input.user}@${CLUSTER_NAME}`,
  });
}

/** The kubeconfig kubeadm publishes in kube-public/cluster-info: the CA and the server, no user. */
export function buildClusterInfoKubeconfig(server: string, caPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: '', cluster: { 'certificate-authority-data': Buffer.from(caPem).toString('base64'), server } },
    ],
    contexts: [],
    'current-context': '',
    preferences: {},
    users: [],
  });
}

/**
 * An audit policy that records, at Metadata level and once per request (at ResponseComplete), what
 * the given users do, and nothing else: the apiserver itself counts a client's requests.
 */
function auditFlags(dir: string, logsDir: string, users: string[]): { flags: string[]; logPath: string } {
  const policyPath = join(dir, 'audit-policy.yaml');
  writeFileSync(
    policyPath,
    stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata', users }, { level: 'None' }],
    }),
  );
  const logPath = join(logsDir, 'audit.log');
  return {
    logPath,
    flags: [
      `--audit-policy-file=${policyPath}`,
      `--audit-log-path=${logPath}`,
      '--audit-log-format=json',
      '--audit-log-maxbackup=0',
      '--audit-log-maxsize=0',
      '--audit-log-mode=blocking',
    ],
  };
}

function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address === 'localhost';
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Starts a control plane; throws (after cleaning up) with the failing component's log tail. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const advertiseAddress = opts.advertiseAddress ?? '127.0.0.1';
  const dir = createOwnedDir('penetrator-cp-', opts.workDir);
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir);
  const started: ManagedProcess[] = [];
  let stopped = false;

  const stopAll = async (): Promise<void> => {
    // Reverse start order: clients first, etcd last, so the apiserver shuts down cleanly.
    for (const p of [...started].reverse()) await p.stop();
  };
  const keep = (): boolean => process.env.PENETRATOR_KEEP_CLUSTER === '1';

  try {
    const cp = await boot(dir, logsDir, advertiseAddress, started, opts.auditedUsers ?? []);
    return {
      ...cp,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (keep()) {
          markKept(dir);
          process.stderr.write(`PENETRATOR_KEEP_CLUSTER=1: control plane files kept in ${dir}\n`);
        } else {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err: unknown) {
    await stopAll();
    if (opts.keepOnFailure === true || keep()) {
      markKept(dir);
      process.stderr.write(`control plane failed to start; files kept in ${dir}\n`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
    throw err;
  }
}

async function boot(
  dir: string,
  logsDir: string,
  advertiseAddress: string,
  started: ManagedProcess[],
  auditedUsers: string[],
): Promise<Omit<ControlPlane, 'stop'>> {
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { mode: 0o700 });
  const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = (await freePorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];

  // --- PKI and credentials -------------------------------------------------------------------
  const ca = await createCertificateAuthority(pkiDir);
  const sans = [...new Set(['127.0.0.1', advertiseAddress, FIRST_SERVICE_IP])].filter(
    (a) => a !== 'localhost',
  );
  const serving = await issueCertificate(ca, {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    usage: 'server',
    ipAddresses: sans,
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
  });
  // kubeadm's front-proxy CA: without a request-header CA every component logs an error per resync.
  mkdirSync(join(pkiDir, 'front-proxy'));
  const frontProxyCa = await createCertificateAuthority(join(pkiDir, 'front-proxy'), 'front-proxy-ca');
  const frontProxyClient = await issueCertificate(frontProxyCa, {
    name: 'front-proxy-client',
    commonName: 'front-proxy-client',
    usage: 'client',
  });
  const saKey = generateRsaKey();
  writeFileSync(join(pkiDir, 'sa.key'), saKey.keyPem, { mode: 0o600 });
  writeFileSync(join(pkiDir, 'sa.pub'), saKey.publicKeyPem);

  const adminToken = token();
  const kcmToken = token();
  const schedToken = token();
  const userTokens = auditedUsers.map((user) => ({ user, token: token() }));
  // Static tokens: token,user,uid,"groups". The controller manager and scheduler use the user names
  // the default RBAC roles are bound to, so they run with their real, limited permissions.
  writeFileSync(
    join(pkiDir, 'tokens.csv'),
    [
      `${adminToken},penetrator-admin,penetrator-admin,"system:masters"`,
      `${kcmToken},system:kube-controller-manager,system:kube-controller-manager`,
      `${schedToken},system:kube-scheduler,system:kube-scheduler`,
      ...userTokens.map((u) => `${u.token},${u.user},${u.user},"system:masters"`),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const server = `https://127.0.0.1:${apiPort}`;
  const siteServer = `https://${hostPort(advertiseAddress, apiPort)}`;
  const kubeconfigYaml = buildKubeconfig({
    server,
    caPem: ca.certPem,
    user: 'penetrator-admin',
    token: adminToken,
  });
  const kubeconfigPath = join(dir, 'admin.kubeconfig');
  const userKubeconfigs = Object.fromEntries(
    userTokens.map((u) => [
      u.user,
      buildKubeconfig({ server, caPem: ca.certPem, user: u.user, token: u.token }),
    ]),
  );
  const audit = auditedUsers.length > 0 ? auditFlags(dir, logsDir, auditedUsers) : undefined;
  writeFileSync(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });
  const kcmKubeconfig = join(dir, 'controller-manager.kubeconfig');
  writeFileSync(
    kcmKubeconfig,
    buildKubeconfig({ server, caPem: ca.certPem, user: 'system:kube-controller-manager', token: kcmToken }),
    { mode: 0o600 },
  );
  const schedKubeconfig = join(dir, 'scheduler.kubeconfig');
  writeFileSync(
    schedKubeconfig,
    buildKubeconfig({ server, caPem: ca.certPem, user: 'system:kube-scheduler', token: schedToken }),
    { mode: 0o600 },
  );

  const launch = (name: ComponentName, args: string[]): ManagedProcess => {
    const p = spawnManaged({
      name,
      command: binary(name),
      args,
      logPath: join(logsDir, `${name}.log`),
      cwd: dir,
    });
    started.push(p);
    return p;
  };
  const died = (p: ManagedProcess) => (): string | undefined =>
    p.hasExited() ? 'exited during start' : undefined;
  const timedOut = (p: ManagedProcess, err: unknown): Error =>
    new Error(
      `${err instanceof Error ? err.message : String(err)}\nlast lines of ${p.logPath}:\n${tailFile(p.logPath)}`,
      { cause: err },
    );

  // --- etcd ------------------------------------------------------------------------------------
  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const peerUrl = `http://127.0.0.1:${etcdPeer}`;
  const etcd = launch('etcd', [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    '--initial-cluster-state=new',
    // A test cluster that dies with its test needs no durability; fsync dominates start time.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ]);
  await waitFor(
    async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { health?: string };
      return body.health === 'true' ? true : undefined;
    },
    { what: 'etcd /health', timeoutMs: TIMEOUTS.etcd, abort: died(etcd) },
  ).catch((err: unknown) => {
    throw timedOut(etcd, err);
  });

  // --- kube-apiserver --------------------------------------------------------------------------
  const apiserver = launch('kube-apiserver', [
    `--etcd-servers=${etcdUrl}`,
    `--secure-port=${apiPort}`,
    // Joining nodes reach a non-loopback advertise address; nothing but our own tests connects.
    `--bind-address=${isLoopback(advertiseAddress) ? '127.0.0.1' : '0.0.0.0'}`,
    `--advertise-address=${advertiseAddress}`,
    // The endpoint reconciler refuses a loopback address; nothing in the tests uses the kubernetes Service.
    `--endpoint-reconciler-type=${isLoopback(advertiseAddress) ? 'none' : 'lease'}`,
    `--cert-dir=${pkiDir}`,
    `--tls-cert-file=${serving.certPath}`,
    `--tls-private-key-file=${serving.keyPath}`,
    `--client-ca-file=${ca.certPath}`,
    `--token-auth-file=${join(pkiDir, 'tokens.csv')}`,
    '--enable-bootstrap-token-auth=true',
    `--requestheader-client-ca-file=${frontProxyCa.certPath}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${frontProxyClient.certPath}`,
    `--proxy-client-key-file=${frontProxyClient.keyPath}`,
    '--authorization-mode=Node,RBAC',
    // As hardened clusters do: an owner reference that blocks deletion needs the owner's finalizers right.
    '--enable-admission-plugins=NodeRestriction,OwnerReferencesPermissionEnforcement',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-key-file=${join(pkiDir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pkiDir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
    ...(audit?.flags ?? []),
  ]);
  await waitFor(
    async () => {
      const res = await httpsGet(`${server}/readyz`, { ca: ca.certPem, bearer: adminToken });
      return res.status === 200 && res.body.trim() === 'ok' ? true : undefined;
    },
    {
      what: 'kube-apiserver /readyz',
      timeoutMs: TIMEOUTS.apiserver,
      intervalMs: 300,
      abort: died(apiserver),
    },
  ).catch((err: unknown) => {
    throw timedOut(apiserver, err);
  });

  // --- controller manager and scheduler --------------------------------------------------------
  const kcm = launch('kube-controller-manager', [
    `--kubeconfig=${kcmKubeconfig}`,
    `--authentication-kubeconfig=${kcmKubeconfig}`,
    `--authorization-kubeconfig=${kcmKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${kcmPort}`,
    `--cert-dir=${join(dir, 'kcm-certs')}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${join(pkiDir, 'sa.key')}`,
    `--root-ca-file=${ca.certPath}`,
    `--cluster-signing-cert-file=${ca.certPath}`,
    `--cluster-signing-key-file=${ca.keyPath}`,
    `--cluster-name=${CLUSTER_NAME}`,
    '--leader-elect=false',
    '--profiling=false',
    '--v=1',
  ]);
  const scheduler = launch('kube-scheduler', [
    `--kubeconfig=${schedKubeconfig}`,
    `--authentication-kubeconfig=${schedKubeconfig}`,
    `--authorization-kubeconfig=${schedKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${schedPort}`,
    '--leader-elect=false',
    '--profiling=false',
    '--v=1',
  ]);
  for (const [p, port] of [
    [kcm, kcmPort],
    [scheduler, schedPort],
  ] as const) {
    // /healthz is always allowed; their serving certs are self-signed, so only loopback and no CA.
    await waitFor(
      async () =>
        (await httpsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200
          ? true
          : undefined,
      { what: `${p.name} /healthz`, timeoutMs: TIMEOUTS.component, abort: died(p) },
    ).catch((err: unknown) => {
      throw timedOut(p, err);
    });
  }

  // --- what kubeadm init leaves behind ---------------------------------------------------------
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  await publishClusterInfo(kc, siteServer, ca.certPem);
  await createBootstrapRbac(kc);
  await ensureNamespace(kc.makeApiClient(CoreV1Api), 'edge-system');

  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    },
    {
      what: 'ServiceAccount default/default (serviceaccount controller)',
      timeoutMs: TIMEOUTS.serviceAccount,
      abort: died(kcm),
    },
  ).catch((err: unknown) => {
    throw timedOut(kcm, err);
  });

  return {
    dir,
    logsDir,
    server,
    siteServer,
    caPem: ca.certPem,
    adminToken,
    kubeconfigPath,
    kubeconfigYaml,
    userKubeconfigs,
    ...(audit ? { auditLogPath: audit.logPath } : {}),
    pids: {
      etcd: etcd.pid,
      'kube-apiserver': apiserver.pid,
      'kube-controller-manager': kcm.pid,
      'kube-scheduler': scheduler.pid,
    },
  };
}

function isConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 409;
}

async function createOrAdopt(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err: unknown) {
    if (!isConflict(err)) throw err;
  }
}

async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  await createOrAdopt(() => core.createNamespace({ body: { metadata: { name } } }));
}

/** kube-public/cluster-info and the Role/RoleBinding that let system:anonymous read it (as kubeadm). */
async function publishClusterInfo(kc: KubeConfig, siteServer: string, caPem: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await ensureNamespace(core, 'kube-public');
  await createOrAdopt(() =>
    core.createNamespacedConfigMap({
      namespace: 'kube-public',
      body: {
        metadata: { name: 'cluster-info' },
        data: { kubeconfig: buildClusterInfoKubeconfig(siteServer, caPem) },
      },
    }),
  );
  await createOrAdopt(() =>
    rbac.createNamespacedRole({
      namespace: 'kube-public',
      body: {
        metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo' },
        rules: [
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] },
        ],
      },
    }),
  );
  await createOrAdopt(() =>
    rbac.createNamespacedRoleBinding({
      namespace: 'kube-public',
      body: {
        metadata: { name: 'kubeadm:bootstrap-signer-clusterinfo' },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: 'kubeadm:bootstrap-signer-clusterinfo',
        },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }],
      },
    }),
  );
}

/** The group kubeadm gives its bootstrap tokens (`auth-extra-groups`). */
export const BOOTSTRAP_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';

/**
 * kubeadm's bindings for joining nodes: bootstrap tokens may create node CSRs (auto-approved), read
 * Nodes, and nodes may renew their own client certificates.
 */
async function createBootstrapRbac(kc: KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
  const roleRef = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name });
  const roles: V1ClusterRole[] = [
    {
      metadata: { name: 'kubeadm:get-nodes' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    },
  ];
  const bindings: V1ClusterRoleBinding[] = [
    {
      metadata: { name: 'kubeadm:get-nodes' },
      roleRef: roleRef('kubeadm:get-nodes'),
      subjects: [group(BOOTSTRAP_TOKEN_GROUP)],
    },
    {
      metadata: { name: 'kubeadm:kubelet-bootstrap' },
      roleRef: roleRef('system:node-bootstrapper'),
      subjects: [group(BOOTSTRAP_TOKEN_GROUP)],
    },
    {
      metadata: { name: 'kubeadm:node-autoapprove-bootstrap' },
      roleRef: roleRef('system:certificates.k8s.io:certificatesigningrequests:nodeclient'),
      subjects: [group(BOOTSTRAP_TOKEN_GROUP)],
    },
    {
      metadata: { name: 'kubeadm:node-autoapprove-certificate-rotation' },
      roleRef: roleRef('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient'),
      subjects: [group('system:nodes')],
    },
  ];
  for (const body of roles) await createOrAdopt(() => rbac.createClusterRole({ body }));
  for (const body of bindings) await createOrAdopt(() => rbac.createClusterRoleBinding({ body }));
}
