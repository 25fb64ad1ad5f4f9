/**
 * The shapes that cross a state boundary. Step Functions passes these between the Lambdas, so they
 * hold names, addresses and ids only — never a password, key, kubeconfig or bootstrap token.
 * Changing a field here changes the workflow's contract: update statemachine/ in the same commit.
 */
import type { MapResultRef, WorkRef } from './work-objects';

/** Where the product keeps its objects in every target cluster. */
export const TASK_NAMESPACE = 'edge-system';
/** The label whose value is unique to a task; installed nodes carry it. */
export const NODE_TASK_LABEL = 'app.superedge.io/node-label';
/** The cluster-wide lock (a coordination.k8s.io Lease in TASK_NAMESPACE). */
export const LOCK_LEASE_NAME = 'penetrator-lock';
/** Prefix of the API group used for the product's own labels and annotations. */
export const PRODUCT_DOMAIN = 'penetrator.superedge.io';

export type InstallerProfile = 'edgeadm' | 'kubeadm';
export type TaskMode = 'proxy' | 'direct';

/** Execution input: what API Gateway, EventBridge and the CLI start the state machine with. */
/** Step Functions' limit on an execution's input (and on any state's payload), in UTF-8 bytes. */
export const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

/** The size Step Functions counts for an execution input: its JSON in UTF-8. */
export function executionInputBytes(input: WorkflowInput): number {
  return Buffer.byteLength(JSON.stringify(input), 'utf8');
}

export interface WorkflowInput {
  /** The NodeTask document exactly as submitted (parsed from YAML or JSON). */
  nodeTask: unknown;
  /** Registered cluster name; overrides spec.cluster. Default: the only registered cluster. */
  cluster?: string;
}

/** One unit of the Map: one target machine. */
export interface NodeWork {
  /** Node name the machine joins as. */
  name: string;
  /** Target machine address (IPv4 or IPv6), as the proxy node reaches it. */
  ip: string;
  /** The proxy node whose Job installs this machine (empty in direct mode). */
  proxyNode: string;
  /** True when the machine is being reinstalled: a Node under its name, or one it replaces, exists. */
  reinstall: boolean;
  /**
   * Old Nodes of this machine under other names (same address, same site, or listed in
   * spec.replaceNodes). Deleted by Check install once the machine has joined again, never before.
   */
  replaces?: string[];
}

/** Everything a per-node Lambda needs about its task; produced by Plan, completed by Prepare. */
export interface TaskRef {
  name: string;
  cluster: string;
  /** Value of NODE_TASK_LABEL for this task: `<task name>-<6 of [a-z0-9]>`. */
  labelValue: string;
  mode: TaskMode;
  installer: InstallerProfile;
  /** Name of the SSH credential (in Secrets Manager under the product prefix, or the local store). */
  credential: string;
  sshUser: string;
  sshPort: number;
  /** Execution id that owns the lock and the objects created for this run. */
  executionId: string;
  /** Install attempts per node (first try included). */
  maxAttempts: number;
  /** Deadline of one attempt (the Job's activeDeadlineSeconds). */
  attemptTimeoutSeconds: number;
  /** Seconds between two checks of a running attempt. */
  pollSeconds: number;
  /** Set by Prepare: uid of the task object (ConfigMap) that owns every object of the task. */
  ownerUid?: string;
  /** Set by Prepare: name of the task object ConfigMap in TASK_NAMESPACE. */
  taskObject?: string;
  /** Set by Prepare: Secret holding the projected credential and the bootstrap token. */
  credentialSecret?: string;
  /** Set by Prepare: ConfigMap holding the install script and join parameters. */
  scriptConfigMap?: string;
  /** Set by Plan: digest of the submitted spec; a task object with another digest is another task. */
  specDigest?: string;
  /** Set by Plan from spec.knownHosts (public host keys): Prepare adds them to the credential Secret. */
  knownHosts?: string;
}

/**
 * Output of the Plan state. The work list (NodeWork[]) and the skipped machines (nodes dropped
 * because they already carry this task's label) are in the object store: `work` names them.
 */
export interface PlanOutput {
  task: TaskRef;
  work: WorkRef;
  /** Maximum number of Map iterations running at once. */
  maxConcurrency: number;
}

/** Input of every per-node state. */
export interface NodeStepInput {
  task: TaskRef;
  node: NodeWork;
  /** Set by Start install: the Job (or, in direct mode, the run id) of the current attempt. */
  attempt?: AttemptRef;
}

export interface AttemptRef {
  /** Job name in TASK_NAMESPACE. */
  job: string;
  /** 1-based attempt number (count of Jobs for this node in this task). */
  number: number;
  /**
   * Seconds to wait before the first Check install (domain/install-wait.ts): set by Start install,
   * read by the definition's Wait state; Check install does not need it.
   */
  waitSeconds?: number;
}

/**
 * Output of Check install; a running attempt is thrown as InstallRunningError (its Retry looks
 * again), a failed one as InstallFailedError.
 */
export type CheckOutput =
  /** replaced: old Nodes deleted (or found gone) once the machine joined again, for the node's result. */
  { phase: 'Succeeded'; replaced: string[] };

/** One node's outcome, as the Map collects it. Reason is one line, at most 256 characters. */
export interface NodeResult {
  name: string;
  ip: string;
  state: 'installed' | 'failed';
  /** Step Functions error name of the last failure (failed nodes only). */
  error?: string;
  reason?: string;
  /** Old Nodes of the machine deleted after it joined again (installed nodes only). */
  replaced?: string[];
}

/** Input of Summarize: the Map's per-node results are in the object store, under `results`. */
export interface SummarizeInput {
  task: TaskRef;
  work: WorkRef;
  results: MapResultRef;
}

/** The original's status shape plus per-node detail. */
export interface TaskSummary {
  nodetaskStatus: 'ready' | 'creating';
  /** name → IP of every node not installed. */
  nodeStatus: Record<string, string>;
  installed: number;
  failed: number;
  skipped: number;
  failures: Array<{ name: string; ip: string; reason: string }>;
  /** In the state's copy only: failures not listed there (the task object and Events have them all). */
  failuresOmitted?: number;
  /** One-paragraph message; the Fail state's cause when failed > 0. */
  message: string;
}

/**
 * Environment of the install Job's container and of the direct-mode runner: the contract between
 * the Job builder and installer/install.sh. Secrets are files, never variables.
 */
export const InstallEnv = {
  targetIp: 'PENETRATOR_TARGET_IP',
  nodeName: 'PENETRATOR_NODE_NAME',
  sshUser: 'PENETRATOR_SSH_USER',
  sshPort: 'PENETRATOR_SSH_PORT',
  installer: 'PENETRATOR_INSTALLER',
  /** File with the join parameters (server address, CA hash, package path), from the task ConfigMap. */
  paramsFile: 'PENETRATOR_PARAMS_FILE',
  /** Directory holding `passwd` or `sshkey`, `token`, and optionally `known_hosts`. */
  credentialDir: 'PENETRATOR_CREDENTIAL_DIR',
  /** Path of the install package on the proxy (the Job's filesystem). */
  packagePath: 'PENETRATOR_PACKAGE_PATH',
} as const;

/** Mount paths inside the install Job's container. */
export const InstallPaths = {
  script: '/opt/penetrator/script',
  credential: '/opt/penetrator/credential',
  package: '/opt/penetrator/package',
} as const;

/** The workflow's Lambdas. statemachine/ maps state names to these; the local runner maps these to handlers. */
export const LambdaNames = [
  'plan',
  'lock',
  'prepare',
  'startInstall',
  'checkInstall',
  'summarize',
  'cleanup',
] as const;
export type LambdaName = (typeof LambdaNames)[number];

/** Payload of Plan task: the execution input as is, plus the execution's id. */
export interface PlanInput {
  input: WorkflowInput;
  executionId: string;
}

/** Payload of Take cluster lock. Release is part of cleanup. */
export interface LockInput {
  action: 'acquire' | 'renew' | 'release';
  task: TaskRef;
}

/** Payload of Prepare cluster; its result replaces `$.task`. It reads the lists `work` names. */
export interface PrepareInput {
  task: TaskRef;
  work: WorkRef;
}

/** Payload of both cleanup states. `failed` is set on the error path (for the task's Events). */
export interface CleanupInput {
  task: TaskRef;
  error?: { Error?: string; Cause?: string };
}

/** What a handler is, in Lambda and in the local runner alike. */
export type WorkflowHandler<I = unknown, O = unknown> = (payload: I) => Promise<O>;
