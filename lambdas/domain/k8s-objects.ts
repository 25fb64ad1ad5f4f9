/**
 * Pure builders of every Kubernetes object the workflow writes. No I/O: the use-cases send what these
 * return through the Kube port, and the unit tests read them by value. The types below describe only
 * the fields the product reads or writes; the adapter maps them to and from the client library.
 */
import { createHash } from 'node:crypto';
import {
  InstallEnv,
  InstallPaths,
  NODE_TASK_LABEL,
  TASK_NAMESPACE,
  type NodeWork,
  type TaskRef,
} from './contracts';
import {
  ATTEMPT_LABEL,
  IP_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_ANNOTATION,
  NODE_HASH_LABEL,
  PROXY_ANNOTATION,
  RUN_LABEL,
  TASK_LABEL,
  credentialSecretName,
  installJobName,
  nodeHash,
  runHash,
  scriptConfigMapName,
  shortHash,
  taskObjectName,
} from './job-names';
import { NODE_TASK_API_VERSION } from './node-task-kind';

// ---------------------------------------------------------------------------------------------------
// Object shapes

export type ObjectKind =
  | 'ConfigMap'
  | 'Secret'
  | 'Job'
  | 'Lease'
  | 'Event'
  | 'Node'
  | 'Pod'
  | 'CustomResourceDefinition'
  | 'NodeTask';

export const API_VERSIONS: Record<ObjectKind, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Event: 'v1',
  Node: 'v1',
  Pod: 'v1',
  Job: 'batch/v1',
  Lease: 'coordination.k8s.io/v1',
  CustomResourceDefinition: 'apiextensions.k8s.io/v1',
  NodeTask: NODE_TASK_API_VERSION,
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  /** Set while the object is being deleted (a terminating Pod still runs its processes). */
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface ConfigMapObject extends KubeObject {
  kind: 'ConfigMap';
  data?: Record<string, string>;
}

export interface SecretObject extends KubeObject {
  kind: 'Secret';
  type?: string;
  /** Base64 values, as the apiserver returns them. */
  data?: Record<string, string>;
  /** Plain values, write-only. */
  stringData?: Record<string, string>;
}

export interface LeaseObject extends KubeObject {
  kind: 'Lease';
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    /** RFC 3339 with microseconds (MicroTime). */
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface EventObject extends KubeObject {
  kind: 'Event';
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
  reason: EventReason;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  reportingComponent: string;
  reportingInstance: string;
}

export interface NodeAddress {
  type: string;
  address: string;
}

export interface NodeObject extends KubeObject {
  kind: 'Node';
  status?: {
    addresses?: NodeAddress[];
    conditions?: Array<{ type: string; status: string; reason?: string }>;
  };
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export interface Volume {
  name: string;
  configMap?: { name: string; defaultMode?: number };
  secret?: { secretName: string; defaultMode?: number };
  hostPath?: { path: string; type?: string };
  emptyDir?: Record<string, never>;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy: string;
  command: string[];
  env: EnvVar[];
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext: Record<string, unknown>;
  terminationMessagePolicy: 'File' | 'FallbackToLogsOnError';
  resources?: Record<string, unknown>;
}

export interface PodSpec {
  restartPolicy: 'Never';
  automountServiceAccountToken: boolean;
  enableServiceLinks: boolean;
  hostNetwork: boolean;
  dnsPolicy: string;
  affinity?: Record<string, unknown>;
  tolerations: Array<{ key: string; operator: string; effect: string }>;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Volume[];
}

export interface JobObject extends KubeObject {
  kind: 'Job';
  spec?: {
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    completions?: number;
    parallelism?: number;
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: PodSpec;
    };
  };
  status?: {
    active?: number;
    succeeded?: number;
    failed?: number;
    conditions?: JobCondition[];
  };
}

export interface PodObject extends KubeObject {
  kind: 'Pod';
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{
      name: string;
      state?: {
        terminated?: { exitCode?: number; reason?: string; message?: string };
        waiting?: { reason?: string; message?: string };
      };
    }>;
  };
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces

function managedLabels(taskName: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_LABEL]: taskName };
}

/** A task after Prepare: every field the per-node objects refer to is set. */
export type PreparedTask = TaskRef &
  Required<Pick<TaskRef, 'ownerUid' | 'taskObject' | 'credentialSecret' | 'scriptConfigMap'>>;

export function isPreparedTask(task: TaskRef): task is PreparedTask {
  return [task.ownerUid, task.taskObject, task.credentialSecret, task.scriptConfigMap].every(
    (v) => typeof v === 'string' && v !== '',
  );
}

/**
 * Owned by the task object: deleting it lets the garbage collector delete the object. Not the
 * controller (the task object controls nothing), but it blocks its owner's foreground deletion.
 */
export function ownerReference(task: Pick<PreparedTask, 'taskObject' | 'ownerUid'>): OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: task.taskObject,
    uid: task.ownerUid,
    controller: false,
    blockOwnerDeletion: true,
  };
}

/** Keys sorted at every level, so equal documents give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** Digest of a NodeTask spec: a task whose digest differs is a different task (TaskConflict). */
export function specDigest(spec: unknown): string {
  return `sha256:${shortHash(canonicalJson(spec))}`;
}

// ---------------------------------------------------------------------------------------------------
// The task object

/** Keys of the task object's data. */
export const TaskObjectKeys = {
  spec: 'spec',
  specDigest: 'specDigest',
  labelValue: 'labelValue',
  assignment: 'assignment',
  status: 'status',
  executionId: 'executionId',
} as const;

export interface TaskStatus {
  nodetaskStatus: 'ready' | 'creating';
  /** name → IP of every node not installed yet. */
  nodeStatus: Record<string, string>;
}

export interface TaskObjectInput {
  task: TaskRef;
  /** Every machine of the task, to install or skipped: name → IP. */
  assignment: Record<string, string>;
  status: TaskStatus;
}

/** The settings the task runs with, as recorded in the task object (no secret: names only). */
export function recordedSpec(task: TaskRef, proxyNodes: readonly string[]): Record<string, unknown> {
  return {
    sshCredential: task.credential,
    sshUser: task.sshUser,
    sshPort: task.sshPort,
    mode: task.mode,
    installer: task.installer,
    proxyNodes: [...proxyNodes],
    maxAttempts: task.maxAttempts,
    attemptTimeoutSeconds: task.attemptTimeoutSeconds,
    pollSeconds: task.pollSeconds,
  };
}

export function taskObject(input: TaskObjectInput, proxyNodes: readonly string[]): ConfigMapObject {
  const { task } = input;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: taskObjectName(task.name),
      namespace: TASK_NAMESPACE,
      labels: managedLabels(task.name),
    },
    data: {
      [TaskObjectKeys.spec]: canonicalJson(recordedSpec(task, proxyNodes)),
      [TaskObjectKeys.specDigest]: task.specDigest ?? '',
      [TaskObjectKeys.labelValue]: task.labelValue,
      [TaskObjectKeys.assignment]: canonicalJson(input.assignment),
      [TaskObjectKeys.status]: canonicalJson(input.status),
      [TaskObjectKeys.executionId]: task.executionId,
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The credential Secret and the script ConfigMap

export const CredentialKeys = {
  passwd: 'passwd',
  sshkey: 'sshkey',
  token: 'token',
  knownHosts: 'known_hosts',
} as const;

export interface CredentialSecretInput {
  task: Pick<PreparedTask, 'name' | 'taskObject' | 'ownerUid'>;
  credential: { passwd?: string; sshkey?: string; knownHosts?: string };
  /** `<id>.<secret>` */
  bootstrapToken: string;
}

/** What the install Job reads from InstallPaths.credential: the SSH secret, the join token, host keys. */
export function credentialSecret(input: CredentialSecretInput): SecretObject {
  const { credential } = input;
  const stringData: Record<string, string> = {};
  // A key wins over a password, as the installer prefers it too.
  if (credential.sshkey !== undefined && credential.sshkey !== '')
    stringData[CredentialKeys.sshkey] = credential.sshkey;
  else if (credential.passwd !== undefined && credential.passwd !== '')
    stringData[CredentialKeys.passwd] = credential.passwd;
  else throw new Error('credentialSecret: the credential holds neither sshkey nor passwd');
  stringData[CredentialKeys.token] = input.bootstrapToken;
  if (credential.knownHosts !== undefined && credential.knownHosts.trim() !== '') {
    stringData[CredentialKeys.knownHosts] = credential.knownHosts.endsWith('\n')
      ? credential.knownHosts
      : `${credential.knownHosts}\n`;
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: credentialSecretName(input.task.name),
      namespace: TASK_NAMESPACE,
      labels: managedLabels(input.task.name),
      ownerReferences: [ownerReference(input.task)],
    },
    stringData,
  };
}

/**
 * The script ConfigMap's files: install.sh (what the Job runs), remote.sh (the part install.sh sends
 * to the target; direct mode sends the same text) and the join parameters.
 */
export const ScriptKeys = { script: 'install.sh', remote: 'remote.sh', params: 'params' } as const;

/** The installer's two files, as delivered to every task. */
export interface InstallerScripts {
  /** installer/install.sh: runs where the targets are reached from (the Job). */
  install: string;
  /** installer/remote.sh: runs on the target, read by `sh -s` from the SSH session's stdin. */
  remote: string;
}

/** The file the Job downloads a `url` package to, inside InstallPaths.package. */
export const DOWNLOADED_PACKAGE_FILE = 'package.tar.gz';

export interface JoinParameters {
  /** host:port of the apiserver, from cluster-info. */
  server: string;
  /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo. */
  caHash: string;
}

/** `none` serves kubeadm only: its machines carry their own binaries, an edgeadm install fails fast. */
export type PackageSource =
  | { kind: 'image'; path: string }
  | { kind: 'hostPath'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'none' };

const SAFE_FILE_NAME = /^[A-Za-z0-9._{}-]+$/;

/** `/srv/edge/edgeadm-linux-{arch}.tgz` → [`/srv/edge`, `edgeadm-linux-{arch}.tgz`]. */
export function splitPackagePath(path: string): { dir: string; file: string } {
  const slash = path.lastIndexOf('/');
  const file = path.slice(slash + 1);
  if (file === '')
    throw new Error(`package path ${JSON.stringify(path)} names a directory; expected the package file`);
  return { dir: slash <= 0 ? '/' : path.slice(0, slash), file };
}

/** The file a `url` package is downloaded to: the URL's own file name when it is a plain one. */
function downloadedFileName(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  return SAFE_FILE_NAME.test(last) ? last : DOWNLOADED_PACKAGE_FILE;
}

/**
 * Where the package is inside the Job's container. `{arch}` in the name is kept: the script
 * replaces it with the target's architecture, so one task serves amd64 and arm64 machines.
 */
export function packagePathInJob(source: PackageSource): string {
  switch (source.kind) {
    case 'image':
      return source.path;
    case 'hostPath':
      return `${InstallPaths.package}/${splitPackagePath(source.path).file}`;
    case 'url':
      return `${InstallPaths.package}/${downloadedFileName(source.url)}`;
    case 'none':
      // An empty PACKAGE is what install.sh reads as "kubeadm, nothing to copy".
      return '';
  }
}

const PARAM_VALUE = /^[^\n\r\0]*$/;

/**
 * The params file: `KEY=value` lines the script reads line by line (never sources), so values need
 * no quoting; a newline in a value would forge a line and is refused.
 */
export function paramsFile(join: JoinParameters, source: PackageSource): string {
  const lines: Array<[string, string]> = [
    ['SERVER', join.server],
    ['CA_HASH', join.caHash],
    ['PACKAGE', packagePathInJob(source)],
  ];
  if (source.kind === 'url') lines.push(['PACKAGE_URL', source.url]);
  for (const [key, value] of lines) {
    if (!PARAM_VALUE.test(value)) throw new Error(`paramsFile: ${key} holds a line break`);
  }
  return lines.map(([key, value]) => `${key}=${value}\n`).join('');
}

export interface ScriptConfigMapInput {
  task: Pick<PreparedTask, 'name' | 'taskObject' | 'ownerUid'>;
  scripts: InstallerScripts;
  join: JoinParameters;
  packageSource: PackageSource;
}

export function scriptConfigMap(input: ScriptConfigMapInput): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: scriptConfigMapName(input.task.name),
      namespace: TASK_NAMESPACE,
      labels: managedLabels(input.task.name),
      ownerReferences: [ownerReference(input.task)],
    },
    data: {
      [ScriptKeys.script]: input.scripts.install,
      [ScriptKeys.remote]: input.scripts.remote,
      [ScriptKeys.params]: paramsFile(input.join, input.packageSource),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The install Job

export interface InstallJobInput {
  task: PreparedTask;
  node: NodeWork;
  attempt: number;
  image: string;
  imagePullPolicy: string;
  packageSource: PackageSource;
  ttlSecondsAfterFinished: number;
}

const CONTAINER_NAME = 'install';
/**
 * The unprivileged user of the installer image (installer/Dockerfile). The Secret's files are
 * group-readable and the Pod's fsGroup makes that group the user's, so no one else may read them.
 */
export const INSTALLER_UID = 10001;

function packageVolume(source: PackageSource): Volume | undefined {
  switch (source.kind) {
    case 'image':
    case 'none':
      return undefined;
    case 'hostPath':
      // The package's directory, so a name with {arch} can pick either architecture's file.
      return { name: 'package', hostPath: { path: splitPackagePath(source.path).dir, type: 'Directory' } };
    case 'url':
      // Writable scratch space: the script downloads the package there once per attempt.
      return { name: 'package', emptyDir: {} };
  }
}

/**
 * In proxy mode the Pod must run on the proxy node, the only machine that reaches the targets; in
 * direct mode the cluster's own nodes reach them, so any node will do. Control-plane taints are
 * tolerated because a proxy node may well be a control-plane node.
 */
function placement(node: NodeWork): Pick<PodSpec, 'affinity' | 'tolerations'> {
  const tolerations = [
    { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (node.proxyNode === '') return { tolerations };
  return {
    tolerations,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.proxyNode] }],
            },
          ],
        },
      },
    },
  };
}

/**
 * One install attempt on one node. Everything that comes from the NodeTask (address, node name,
 * user, port) reaches the script as an environment variable; the command line is constant, so no
 * task value is ever parsed by a shell. Secrets are files (InstallPaths.credential), never variables.
 */
export function installJob(input: InstallJobInput): JobObject {
  const { task, node, attempt } = input;
  // kubeadm takes no package: its Job gets no path and no volume, whatever the deployment's source.
  const packageSource: PackageSource = task.installer === 'kubeadm' ? { kind: 'none' } : input.packageSource;
  const name = installJobName(task.name, task.executionId, node.name, attempt);
  const labels = {
    ...managedLabels(task.name),
    [NODE_HASH_LABEL]: nodeHash(node.name),
    [RUN_LABEL]: runHash(task.executionId),
    [ATTEMPT_LABEL]: String(attempt),
  };
  const annotations = {
    [NODE_ANNOTATION]: node.name,
    [IP_ANNOTATION]: node.ip,
    ...(node.proxyNode === '' ? {} : { [PROXY_ANNOTATION]: node.proxyNode }),
  };
  const env: EnvVar[] = [
    { name: InstallEnv.targetIp, value: node.ip },
    { name: InstallEnv.nodeName, value: node.name },
    { name: InstallEnv.sshUser, value: task.sshUser },
    { name: InstallEnv.sshPort, value: String(task.sshPort) },
    { name: InstallEnv.installer, value: task.installer },
    { name: InstallEnv.paramsFile, value: `${InstallPaths.script}/${ScriptKeys.params}` },
    { name: InstallEnv.credentialDir, value: InstallPaths.credential },
  ];
  if (packageSource.kind !== 'none') {
    env.push({ name: InstallEnv.packagePath, value: packagePathInJob(packageSource) });
  }
  const volumes: Volume[] = [
    // Read-only for everyone: the script runs through /bin/sh, it needs no execute bit.
    { name: 'script', configMap: { name: task.scriptConfigMap, defaultMode: 0o444 } },
    { name: 'credential', secret: { secretName: task.credentialSecret, defaultMode: 0o440 } },
  ];
  const mounts: Container['volumeMounts'] = [
    { name: 'script', mountPath: InstallPaths.script, readOnly: true },
    { name: 'credential', mountPath: InstallPaths.credential, readOnly: true },
  ];
  const pkg = packageVolume(packageSource);
  if (pkg) {
    volumes.push(pkg);
    mounts.push({
      name: pkg.name,
      mountPath: InstallPaths.package,
      readOnly: packageSource.kind === 'hostPath',
    });
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: TASK_NAMESPACE,
      labels,
      annotations,
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      // Retries belong to Step Functions (visible, with backoff); the Job makes exactly one try.
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: task.attemptTimeoutSeconds,
      ttlSecondsAfterFinished: input.ttlSecondsAfterFinished,
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // The proxy reaches the site's intranet from its own network, not necessarily from the pod network.
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          ...placement(node),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: INSTALLER_UID,
            runAsGroup: INSTALLER_UID,
            fsGroup: INSTALLER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER_NAME,
              image: input.image,
              imagePullPolicy: input.imagePullPolicy,
              command: ['/bin/sh', `${InstallPaths.script}/${ScriptKeys.script}`],
              env,
              volumeMounts: mounts,
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
              },
              // The script's last output lines become the failure reason the workflow reports.
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes,
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The lock

/** RFC 3339 with microseconds, the only form a MicroTime accepts. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Seconds precision, the form of metav1.Time. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function lockHolder(taskName: string, executionName: string): string {
  return `${taskName}/${executionName}`;
}

/** The task named in a holder identity `<task>/<execution>`. */
export function holderTask(holder: string): string {
  const slash = holder.indexOf('/');
  return slash < 0 ? holder : holder.slice(0, slash);
}

export interface LockLeaseInput {
  name: string;
  holder: string;
  durationSeconds: number;
  now: Date;
  /** Set when taking over an existing Lease: its resourceVersion and transitions. */
  previous?: LeaseObject;
}

export function lockLease(input: LockLeaseInput): LeaseObject {
  const now = microTime(input.now);
  const previous = input.previous;
  const sameHolder = previous?.spec.holderIdentity === input.holder;
  const metadata: ObjectMeta = {
    name: input.name,
    namespace: TASK_NAMESPACE,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
  };
  if (previous?.metadata.resourceVersion !== undefined)
    metadata.resourceVersion = previous.metadata.resourceVersion;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata,
    spec: {
      holderIdentity: input.holder,
      leaseDurationSeconds: input.durationSeconds,
      acquireTime: sameHolder && previous?.spec.acquireTime ? previous.spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: (previous?.spec.leaseTransitions ?? 0) + (previous && !sameHolder ? 1 : 0),
    },
  };
}

/** Expired when its last renewal is older than its duration (a Lease without either is expired). */
export function leaseExpired(lease: LeaseObject, now: Date): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  const duration = lease.spec.leaseDurationSeconds;
  if (Number.isNaN(renewed) || duration === undefined) return true;
  return renewed + duration * 1000 <= now.getTime();
}

// ---------------------------------------------------------------------------------------------------
// The bootstrap token

export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
/** The group kubeadm's RBAC lets post CSRs and have them approved. */
export const BOOTSTRAP_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const TOKEN_ID = /^[a-z0-9]{6}$/;
const TOKEN_SECRET = /^[a-z0-9]{16}$/;

/**
 * The id of the one bootstrap token an execution uses, derived from the execution so every step
 * that ends it (cleanup, cancel, the execution-ended rule) names the same Secret without listing
 * kube-system: 6 base-36 characters of a SHA-256 of the execution id.
 */
export function bootstrapTokenIdFor(executionId: string): string {
  const digest = createHash('sha256').update(executionId).digest();
  return Array.from(digest.subarray(0, 6), (byte) => (byte % 36).toString(36)).join('');
}

export function bootstrapTokenSecretName(id: string): string {
  return `bootstrap-token-${id}`;
}

/** Whether a bootstrap-token Secret is the one task `taskName` created (its labels say so). */
export function isTaskBootstrapToken(secret: SecretObject, taskName: string): boolean {
  const labels = secret.metadata.labels ?? {};
  return (
    secret.type === BOOTSTRAP_TOKEN_TYPE &&
    labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE &&
    labels[TASK_LABEL] === taskName
  );
}

export interface BootstrapTokenInput {
  id: string;
  secret: string;
  expires: Date;
  taskName: string;
}

export function bootstrapTokenSecret(input: BootstrapTokenInput): SecretObject {
  if (!TOKEN_ID.test(input.id) || !TOKEN_SECRET.test(input.secret)) {
    throw new Error('bootstrapTokenSecret: the id must be 6 and the secret 16 characters of [a-z0-9]');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: BOOTSTRAP_TOKEN_TYPE,
    metadata: {
      name: bootstrapTokenSecretName(input.id),
      namespace: BOOTSTRAP_TOKEN_NAMESPACE,
      labels: managedLabels(input.taskName),
    },
    stringData: {
      description: `Joins the nodes of Penetrator task ${input.taskName}`,
      'token-id': input.id,
      'token-secret': input.secret,
      expiration: rfc3339(input.expires),
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': BOOTSTRAP_TOKEN_GROUP,
    },
  };
}

export interface BootstrapToken {
  id: string;
  secret: string;
  /** Undefined when the token never expires. */
  expires?: Date;
}

function decoded(secret: SecretObject, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * The token a bootstrap-token Secret holds, if it can join nodes until `validUntil`: well-formed,
 * usable for authentication, in the node-joining group, and not expiring before then.
 */
function wellFormedToken(secret: SecretObject): { id: string; secret: string } | undefined {
  if (secret.type !== BOOTSTRAP_TOKEN_TYPE) return undefined;
  const id = decoded(secret, 'token-id') ?? '';
  const tokenSecret = decoded(secret, 'token-secret') ?? '';
  if (!TOKEN_ID.test(id) || !TOKEN_SECRET.test(tokenSecret)) return undefined;
  // The apiserver only honours a token whose Secret is named after its id.
  if (secret.metadata.name !== `bootstrap-token-${id}`) return undefined;
  return { id, secret: tokenSecret };
}

export function usableBootstrapToken(secret: SecretObject, validUntil: Date): BootstrapToken | undefined {
  const token = wellFormedToken(secret);
  if (token === undefined) return undefined;
  const { id, secret: tokenSecret } = token;
  if (decoded(secret, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const groups = (decoded(secret, 'auth-extra-groups') ?? '').split(',').map((g) => g.trim());
  if (!groups.includes(BOOTSTRAP_TOKEN_GROUP)) return undefined;
  const expiration = decoded(secret, 'expiration');
  if (expiration === undefined || expiration === '') return { id, secret: tokenSecret };
  const expires = new Date(expiration);
  if (Number.isNaN(expires.getTime()) || expires.getTime() <= validUntil.getTime()) return undefined;
  return { id, secret: tokenSecret, expires };
}

// ---------------------------------------------------------------------------------------------------
// Events

export type EventReason =
  | 'NodeInstalled'
  | 'NodeReplaced'
  | 'NodeInstallFailed'
  | 'TaskSucceeded'
  | 'TaskFailed';

const WARNING_REASONS: ReadonlySet<EventReason> = new Set(['NodeInstallFailed', 'TaskFailed']);
/** The apiserver refuses Event messages above 1 KiB-ish in practice; keep them short and readable. */
const MAX_EVENT_MESSAGE = 1024;

export interface TaskEventInput {
  task: Pick<PreparedTask, 'name' | 'taskObject' | 'ownerUid' | 'executionId'>;
  reason: EventReason;
  message: string;
  /** Makes the name unique within the run (a node name for node events); a retried create then meets 409. */
  key?: string;
  now: Date;
}

/** An Event on the task object; its name is derived from run, reason and key, so a retry does not duplicate it. */
export function taskEvent(input: TaskEventInput): EventObject {
  const { task } = input;
  const now = rfc3339(input.now);
  const chars = [...input.message.replace(/\s+/g, ' ').trim()];
  const message =
    chars.length > MAX_EVENT_MESSAGE ? `${chars.slice(0, MAX_EVENT_MESSAGE - 1).join('')}…` : chars.join('');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${task.taskObject}.${shortHash(`${task.executionId}/${input.reason}/${input.key ?? ''}`)}`,
      namespace: TASK_NAMESPACE,
      labels: managedLabels(task.name),
    },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: task.taskObject,
      namespace: TASK_NAMESPACE,
      uid: task.ownerUid,
    },
    reason: input.reason,
    message,
    type: WARNING_REASONS.has(input.reason) ? 'Warning' : 'Normal',
    source: { component: 'penetrator' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: 'penetrator',
    reportingInstance: '',
  };
}

// ---------------------------------------------------------------------------------------------------
// Nodes

export function nodeInternalIps(node: NodeObject): string[] {
  return (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
}

export function nodeReady(node: NodeObject): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function nodeTaskLabel(node: NodeObject): string | undefined {
  return node.metadata.labels?.[NODE_TASK_LABEL];
}
