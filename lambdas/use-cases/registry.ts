/**
 * PUT /clusters/{name}, GET /clusters, PUT /credentials/{name}: the secret store, written through
 * the SecretWriter port and read back as names only. Bodies are checked before anything is stored;
 * no message repeats a value.
 */
import { ClusterExistsError, RequestInvalidError } from '../errors';
import type { z } from 'zod';
import { kubeFromKubeconfig } from '../adapters/kube';
import { boundsInputProblems, type CredentialBounds } from '../domain/credential-bounds';
import { kubeconfigProblems } from '../domain/kubeconfig';
import type { ApiDependencies, SshCredential } from '../ports';
import {
  clusterBodySchema,
  credentialBodySchema,
  isClusterName,
  isCredentialName,
  keyCredentialSchema,
  passwordCredentialSchema,
  type ClusterList,
} from '../api/schemas';

const CREDENTIAL_HINT =
  'send {"passwd": "…"} or {"sshkey": "…"}, with "clusters": ["…"] and optionally "knownHosts" and "ranges": ["10.0.0.0/8"], as application/json';
const CLUSTER_HINT =
  'send {"kubeconfig": "<the kubeconfig as one string>", "directRanges"?: ["10.0.0.0/8"]} as application/json';

/** The body as JSON; the parser's own message is not repeated (it may quote the body). */
function jsonBody(body: string, hint: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new RequestInvalidError('the request body is not JSON', hint);
  }
}

/** The schema's verdict as field names only: the messages of the body schemas never quote values. */
function refuseBody(issues: readonly z.core.$ZodIssue[], hint: string): never {
  const lines = issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `unknown field ${JSON.stringify(key.slice(0, 40))}`);
    }
    if (issue.code === 'invalid_union') return [];
    const path = issue.path.map(String).join('.') || 'body';
    return [issue.message.startsWith(`${path}:`) ? issue.message : `${path}: ${issue.message}`];
  });
  const detail = lines.length > 0 ? `: ${[...new Set(lines)].join('; ')}` : '';
  throw new RequestInvalidError(`invalid request body${detail}`, hint);
}

export interface CredentialPut {
  credential: SshCredential;
  bounds: Partial<CredentialBounds>;
}

export function parseCredentialBody(body: string): CredentialPut {
  const value = jsonBody(body, CREDENTIAL_HINT);
  const parsed = credentialBodySchema.safeParse(value);
  if (parsed.success) {
    const { clusters, ranges, ...credential } = parsed.data;
    const problems = boundsInputProblems({ clusters, ranges });
    if (problems.length > 0)
      throw new RequestInvalidError(`invalid request body: ${problems.join('; ')}`, CREDENTIAL_HINT);
    return {
      credential,
      bounds: { ...(clusters ? { clusters } : {}), ...(ranges ? { ranges } : {}) },
    };
  }
  // A union's own verdict is unreadable: say what the body lacks, or judge it by the shape it aims at.
  const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  const unknown = keys.filter((k) => !['passwd', 'sshkey', 'knownHosts', 'clusters', 'ranges'].includes(k));
  if (unknown.length > 0) {
    const names = unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ');
    throw new RequestInvalidError(`invalid request body: unknown field ${names}`, CREDENTIAL_HINT);
  }
  if (keys.includes('passwd') === keys.includes('sshkey')) {
    throw new RequestInvalidError(
      'invalid request body: set exactly one of passwd or sshkey',
      CREDENTIAL_HINT,
    );
  }
  const branch = keys.includes('passwd') ? passwordCredentialSchema : keyCredentialSchema;
  const result = branch.safeParse(value);
  refuseBody(result.success ? [] : result.error.issues, CREDENTIAL_HINT);
}

export async function putCredential(deps: ApiDependencies, name: string, body: string): Promise<void> {
  if (!isCredentialName(name)) {
    throw new RequestInvalidError(
      `${JSON.stringify(name.slice(0, 80))} is not a credential name`,
      'expected a DNS-1123 subdomain, as spec.sshCredential',
    );
  }
  const { credential, bounds } = parseCredentialBody(body);
  const outcome = await deps.secrets.putCredential(name, credential, bounds);
  deps.log.info('credential stored', {
    credential: name,
    outcome,
    kind: credential.sshkey ? 'sshkey' : 'passwd',
    knownHosts: credential.knownHosts !== undefined,
    clusters: bounds.clusters ?? [],
    ranges: bounds.ranges ?? [],
  });
  if (!bounds.clusters?.length)
    deps.log.warn('credential stored without clusters: no task may use it until it names some', {
      credential: name,
    });
}

export interface ClusterRegistration {
  /** The raw request body. */
  body: string;
  /** Whether an already registered name may be repointed (`?replace=true`). */
  replace: boolean;
}

export async function putCluster(
  deps: ApiDependencies,
  name: string,
  registration: ClusterRegistration,
): Promise<void> {
  if (!isClusterName(name)) {
    throw new RequestInvalidError(
      `${JSON.stringify(name.slice(0, 80))} is not a cluster name`,
      'expected [A-Za-z0-9._-], at most 63 characters',
    );
  }
  const parsed = clusterBodySchema.safeParse(jsonBody(registration.body, CLUSTER_HINT));
  if (!parsed.success) refuseBody(parsed.error.issues, CLUSTER_HINT);
  const { kubeconfig, directRanges } = parsed.data;
  const rangeProblems = boundsInputProblems({ directRanges });
  if (rangeProblems.length > 0)
    throw new RequestInvalidError(`invalid request body: ${rangeProblems.join('; ')}`, CLUSTER_HINT);
  const problems = kubeconfigProblems(kubeconfig);
  if (problems.length > 0) {
    throw new RequestInvalidError(`invalid kubeconfig: ${problems.join('; ')}`, CLUSTER_HINT, problems);
  }
  try {
    // The client library's own reading of what the rules above accepted.
    kubeFromKubeconfig(name, kubeconfig);
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace('the stored kubeconfig', 'the kubeconfig') : 'unusable';
    throw new RequestInvalidError(`invalid kubeconfig: ${message}`, CLUSTER_HINT);
  }
  const outcome = await deps.secrets.putCluster(
    name,
    kubeconfig,
    registration.replace ? 'replace' : 'create',
    directRanges ?? [],
  );
  if (outcome === 'exists') {
    throw new ClusterExistsError(
      `cluster ${name} is already registered; replacing it sends every later task (and its credentials) to the new apiserver`,
      'to replace it on purpose, send PUT /clusters/{name}?replace=true (penetrator cluster add NAME --replace)',
    );
  }
  // The API handler's log context names the caller (the signing IAM identity) on these lines.
  const fields = { cluster: name, outcome, directRanges: directRanges ?? [] };
  if (outcome === 'replaced') deps.log.warn('cluster replaced: later tasks go to the new kubeconfig', fields);
  else deps.log.info('cluster registered', fields);
}

export async function listClusters(deps: ApiDependencies): Promise<ClusterList> {
  const names = await deps.clusters.list();
  return { items: names.map((name) => ({ name })) };
}
