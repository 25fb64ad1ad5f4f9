/** The spec with every default applied: what the workflow acts on. */
import type { InstallerProfile, TaskMode } from './contracts';
import type { NodeTask } from './node-task';
import { NUMERIC_FIELDS, type NodeTaskSpec } from './node-task-schema';

export const DEFAULT_SSH_USER = 'root';
export const DEFAULT_MODE: TaskMode = 'proxy';
export const DEFAULT_INSTALLER: InstallerProfile = 'edgeadm';

export interface ResolvedSpec {
  mode: TaskMode;
  installer: InstallerProfile;
  sshUser: string;
  sshPort: number;
  /** Proxy nodes in the order given; empty in direct mode. */
  proxyNodes: string[];
  /** Name of the SSH credential (spec.sshCredential). */
  credential: string;
  cluster?: string;
  knownHosts?: string;
  maxConcurrency: number;
  maxAttempts: number;
  attemptTimeoutSeconds: number;
  pollSeconds: number;
  /** spec.replaceNodes: Nodes the task may replace deliberately (see domain/ownership.ts). */
  replaceNodes: string[];
}

/** Expects a task that passed validateNodeTask. */
export function resolveSpec(task: NodeTask): ResolvedSpec {
  const spec = task.spec;
  const mode = spec.mode ?? DEFAULT_MODE;
  const resolved: ResolvedSpec = {
    mode,
    installer: spec.installer ?? DEFAULT_INSTALLER,
    sshUser: spec.sshUser ?? DEFAULT_SSH_USER,
    sshPort: numeric(spec, 'sshPort'),
    proxyNodes: mode === 'direct' ? [] : proxyNodesOf(spec),
    credential: spec.sshCredential,
    maxConcurrency: numeric(spec, 'maxConcurrency'),
    maxAttempts: numeric(spec, 'maxAttempts'),
    attemptTimeoutSeconds: numeric(spec, 'attemptTimeoutSeconds'),
    pollSeconds: numeric(spec, 'pollSeconds'),
    replaceNodes: [...new Set(spec.replaceNodes ?? [])],
  };
  if (spec.cluster !== undefined) resolved.cluster = spec.cluster;
  if (spec.knownHosts !== undefined) resolved.knownHosts = spec.knownHosts;
  return resolved;
}

function numeric(spec: NodeTaskSpec, field: keyof typeof NUMERIC_FIELDS): number {
  return spec[field] ?? NUMERIC_FIELDS[field].default;
}

/** proxyNodes in the order given, duplicates folded; else the single proxyNode. */
function proxyNodesOf(spec: NodeTaskSpec): string[] {
  if (spec.proxyNodes) return [...new Set(spec.proxyNodes)];
  return spec.proxyNode ? [spec.proxyNode] : [];
}
