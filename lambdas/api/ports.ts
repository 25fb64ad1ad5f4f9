/**
 * What the HTTP API needs beyond the workflow's own ports (lambdas/ports.ts): the state machine
 * (the Workflow port, implemented on Step Functions in adapters/sfn.ts) and writes to the secret
 * store. The read side (ClusterDirectory, Kube) is shared with the workflow's Lambdas.
 */
import type { WorkflowInput } from '../domain/contracts';
import { ErrorNames } from '../errors';
import type { Dependencies, SshCredential } from '../ports';

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
  putCluster(name: string, kubeconfig: string, mode: 'create' | 'replace'): Promise<ClusterWrite>;
  putCredential(name: string, credential: SshCredential): Promise<'created' | 'updated'>;
}

/** Everything an API use-case depends on: the workflow's dependencies plus the two above. */
export interface ApiDependencies extends Dependencies {
  workflow: Workflow;
  secrets: SecretWriter;
}
