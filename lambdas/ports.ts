/**
 * What the use-cases need from the outside world. Adapters implement these (adapters/), so the
 * use-cases stay free of SDKs and run the same in Lambda and in the local runner.
 */
import type { WorkflowInput } from './domain/contracts';
import type { KubeObject, ObjectKind } from './domain/kube-types';
import type { InstallerScripts } from './domain/script-config-map';
import type { CredentialBounds, DirectRanges, RecordedBounds } from './domain/credential-bounds';
import type { RandomSource } from './domain/random';
import { ErrorNames } from './errors';
import type { RuntimeSettings } from './settings';

/** Registered target clusters, each with a kubeconfig. */
export interface ClusterDirectory {
  /** Names of every registered cluster, sorted. */
  list(): Promise<string[]>;
  /** The cluster's kubeconfig (secret material: never log it). Throws ClusterNotFoundError. */
  kubeconfig(name: string): Promise<string>;
  /** The address ranges direct mode may reach in the cluster (its value is not read). */
  directRanges(name: string): Promise<DirectRanges>;
}

/** An SSH credential as stored: exactly what the install Job may receive. */
export interface SshCredential {
  passwd?: string;
  sshkey?: string;
  knownHosts?: string;
}

export interface CredentialStore {
  /**
   * The named credential. Throws CredentialInvalidError when it is missing or holds neither passwd
   * nor sshkey; the message names the credential, never its value.
   */
  get(name: string): Promise<SshCredential>;
  /**
   * Where the credential may be used, read without its value (domain/credential-bounds.ts).
   * Throws CredentialInvalidError when it does not exist.
   */
  bounds(name: string): Promise<RecordedBounds>;
}

/** Identifies one object: kind and name, plus the namespace for namespaced kinds. */
export interface ObjectRef {
  kind: ObjectKind;
  name: string;
  namespace?: string;
}

export interface ListQuery {
  kind: ObjectKind;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** `exists`: a create met an object of that name (409); the existing object is returned to adopt. */
export type CreateResult<T> = { outcome: 'created' | 'exists'; object: T };

/**
 * The Kubernetes operations the use-cases perform. "Not found" and "already exists" are results,
 * not errors; transient failures (5xx, 429, network) throw TransientError; refused credentials
 * (401/403) throw a non-retryable error naming the verb and the resource.
 */
export interface Kube {
  get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  /** Every matching object, following the apiserver's pagination. */
  list<T extends KubeObject>(query: ListQuery): Promise<T[]>;
  create<T extends KubeObject>(object: T): Promise<CreateResult<T>>;
  /**
   * Replaces the object; with metadata.resourceVersion set, only if it is still that version.
   * `conflict`: someone changed it in between; `absent`: it is gone.
   */
  replace<T extends KubeObject>(object: T): Promise<T | 'conflict' | 'absent'>;
  /** JSON merge patch; `absent` when the object does not exist. */
  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: Record<string, unknown>): Promise<T | 'absent'>;
  /** Whether the cluster serves the kind at all: a custom resource's definition may not be installed. */
  serves(kind: ObjectKind): Promise<boolean>;
  /**
   * JSON merge patch of the status subresource; with `resourceVersion`, only if the object is still
   * that version (`conflict` otherwise). `absent`: the object, or its kind, does not exist.
   */
  patchStatus<T extends KubeObject>(
    ref: ObjectRef,
    status: Record<string, unknown>,
    options?: { resourceVersion?: string },
  ): Promise<T | 'absent' | 'conflict'>;
  /**
   * Deletes the object (dependents in the background); with `resourceVersion`, only if it is still
   * that version (`conflict` otherwise).
   */
  delete(ref: ObjectRef, options?: { resourceVersion?: string }): Promise<'deleted' | 'absent' | 'conflict'>;
}

/** A Kube client for a registered cluster (adapters cache one per cluster). */
export type KubeProvider = (cluster: string) => Promise<Kube>;

/** Structured log lines; Powertools' Logger satisfies it. Never pass secret values. */
export interface Log {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** A product event on the EventBridge bus: `source` is always "penetrator". */
export interface ProductEvent {
  detailType: string;
  /** JSON-serialisable; names, addresses and ids only, never secret material. */
  detail: Record<string, unknown>;
}

/** Publishes product events (Task Succeeded, Task Failed) to the product's event bus. */
export interface EventPublisher {
  /** Throws TransientError when the bus refused an entry after the adapter's own retries. */
  publish(events: readonly ProductEvent[]): Promise<void>;
}

/** The product's CloudWatch metrics (namespace Penetrator), each with the dimension `cluster`. */
export type MetricName = 'NodesInstalled' | 'NodesFailed' | 'InstallDurationSeconds' | 'Attempts';

export interface Metrics {
  /** Records one value; `NodesInstalled`/`NodesFailed`/`Attempts` are counts, the duration in seconds. */
  record(name: MetricName, value: number, cluster: string): void;
}

/** One SSH login to a target machine (direct mode). Secret fields are never logged. */
export interface SshLogin {
  host: string;
  port: number;
  user: string;
  password?: string;
  privateKey?: string;
  /** known_hosts lines: with them the host key must match one (strict); without, it is trusted and logged. */
  knownHosts?: string;
  /** Bound of TCP connect, handshake and authentication together. */
  readyTimeoutMs: number;
}

export interface SshExecResult {
  /** The remote command's exit status. */
  code: number;
  /** The ends of its output (at most a bounded number of bytes each). */
  stdout: string;
  stderr: string;
}

/** An authenticated SSH connection. Failures reject with SshFailure (lambdas/direct/remote.ts). */
export interface SshSession {
  /** `SHA256:…` of the host key the machine presented. */
  readonly hostKeyFingerprint: string;
  /** `<type> <base64>` of that key, as a pin records it (lambdas/domain/host-key-pin.ts). */
  readonly hostKey: string;
  /** Runs `command` with `stdin` written to it and closed; rejects (kind `deadline`) after `timeoutMs`. */
  exec(command: string, options: { stdin: string; timeoutMs: number }): Promise<SshExecResult>;
  /** Copies a local file to `remotePath` over SFTP (mode 0600). */
  upload(localPath: string, remotePath: string, options: { timeoutMs: number }): Promise<void>;
  close(): void;
}

export type SshConnector = (login: SshLogin) => Promise<SshSession>;

/**
 * The task's unbounded data (work list, skipped list, the Map's result files): S3 in AWS, a
 * directory in local runs. Keys are relative to the store (the deployment's bucket).
 */
export interface ObjectStore {
  /** Writes `value` as JSON under `key`, replacing what was there. */
  putJson(key: string, value: unknown): Promise<void>;
  /** The JSON under `key`; throws TransientError when it cannot be read (never undefined). */
  getJson(key: string): Promise<unknown>;
}

/** Everything a use-case depends on. */
export interface Dependencies {
  clusters: ClusterDirectory;
  credentials: CredentialStore;
  kube: KubeProvider;
  settings: RuntimeSettings;
  /** installer/install.sh, the script the Job runs, and installer/remote.sh, the part run on targets. */
  installScript: () => Promise<InstallerScripts>;
  log: Log;
  clock?: () => Date;
  random?: RandomSource;
  /** Completion events; absent (local runs) means none are published. */
  events?: EventPublisher;
  /** Absent means no metrics are recorded. */
  metrics?: Metrics;
  /** The task's work list and results; only the Lambdas that read or write them are given one. */
  objects?: ObjectStore;
  /** SSH to target machines, for direct mode; absent where direct mode cannot run. */
  ssh?: SshConnector;
  /**
   * Milliseconds left before the platform stops this call (Lambda's remaining time); absent when
   * nothing stops it (local runs). Direct mode ends its install well before.
   */
  remainingTimeMs?: () => number;
}

// The doors that start and inspect tasks (the API and the events) need the state machine itself and,
// for the API, writes to the secret store; the workflow's own Lambdas never do.

/** The error name Step Functions records for an execution stopped through the API. */
export const CANCELLED_ERROR = ErrorNames.Cancelled;

/** Step Functions' execution statuses. */
export const ExecutionStatuses = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
] as const;
export type ExecutionStatus = (typeof ExecutionStatuses)[number];

export interface ExecutionInfo {
  arn: string;
  name: string;
  status: ExecutionStatus;
  /** ISO 8601. */
  startDate: string;
  stopDate?: string;
}

export interface ExecutionDetail extends ExecutionInfo {
  /** The execution's input, parsed; undefined when it is not JSON. */
  input?: unknown;
}

export type StartResult =
  | { outcome: 'started'; arn: string; startDate: string }
  /** An execution of that name exists already (Step Functions' ExecutionAlreadyExists). */
  | { outcome: 'conflict' };

/**
 * The state machine. Vendor outcomes are results: a name already used is `conflict`, an unknown
 * execution is `undefined` / `not-running`. Throttling and 5xx throw TransientError.
 */
export interface Workflow {
  start(executionName: string, input: WorkflowInput): Promise<StartResult>;
  /** Newest first; at most `maxPages` pages of 1000 (default 5). */
  list(query?: {
    status?: ExecutionStatus;
    namePrefix?: string;
    maxPages?: number;
  }): Promise<ExecutionInfo[]>;
  describe(executionArn: string): Promise<ExecutionDetail | undefined>;
  stop(executionArn: string, cause: string): Promise<'stopped' | 'not-running'>;
}

export type ClusterWrite = 'created' | 'replaced' | 'exists';

/** Registering clusters and storing SSH credentials: values go in, never come back out. */
export interface SecretWriter {
  /**
   * `create` refuses a name already registered (`exists`, nothing written); `replace` writes a new
   * version of it (or creates it).
   */
  putCluster(
    name: string,
    kubeconfig: string,
    mode: 'create' | 'replace',
    directRanges?: readonly string[],
  ): Promise<ClusterWrite>;
  /** The bounds replace those stored before: a bound left out is removed. */
  putCredential(
    name: string,
    credential: SshCredential,
    bounds?: Partial<CredentialBounds>,
  ): Promise<'created' | 'updated'>;
}

/** What the API's and the events' use-cases depend on: the workflow's dependencies plus the two above. */
export interface ApiDependencies extends Dependencies {
  workflow: Workflow;
  secrets: SecretWriter;
}
