/**
 * The Penetrator HTTP API's shapes, as the CLI reads them (docs/operator-guide.md, "HTTP API").
 * Fields a server may leave out are optional, so an older or newer server still renders.
 */

export type ExecutionStatus =
  'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
export type NodeState = 'pending' | 'installing' | 'installed' | 'failed';

/** 202 of POST /tasks. */
export interface SubmitResponse {
  name: string;
  cluster: string;
  executionArn: string;
  statusUrl: string;
}

/** One row of GET /tasks. */
export interface TaskListItem {
  name: string;
  cluster: string;
  nodetaskStatus?: string;
  total?: number;
  installed?: number;
  failed?: number;
  executionArn?: string;
  executionStatus?: string;
  startDate?: string;
}

export interface TaskList {
  items: TaskListItem[];
}

export interface NodeDetail {
  name: string;
  ip: string;
  /** A NodeState; typed as string so a state added by a newer server still renders. */
  state: string;
  attempts?: number;
  reason?: string;
}

export interface TaskProgress {
  total: number;
  installed: number;
  failed: number;
  pending: number;
}

/** GET /tasks/{name}: the original NodeTask's shape plus per-node detail and the execution. */
export interface TaskDetail {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; [key: string]: unknown };
  spec?: Record<string, unknown>;
  status?: {
    nodetaskStatus?: string;
    nodeStatus?: Record<string, string>;
    progress?: Partial<TaskProgress>;
    nodes?: NodeDetail[];
  };
  execution?: { arn?: string; status?: string; startDate?: string; stopDate?: string };
  /** Not in the contract's shape; shown when a server adds it. */
  cluster?: string;
}

export interface TaskEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface EventList {
  items: TaskEvent[];
}

/** 202 of DELETE /tasks/{name}. */
export interface CancelResponse {
  name: string;
  cancelled: boolean;
}

export interface ClusterList {
  items: Array<{ name: string }>;
}

/**
 * Body of PUT /credentials/{name}: a password or a private key, optional known hosts, and the
 * clusters (and address ranges) it may be used for.
 */
export type CredentialBody = ({ passwd: string } | { sshkey: string }) & {
  knownHosts?: string;
  clusters?: string[];
  ranges?: string[];
};

/** Every error response: one message, perhaps a hint, the problems of an invalid NodeTask, the running task. */
export interface ErrorBody {
  message?: string;
  hint?: string;
  problems?: string[];
  runningTask?: string;
}
