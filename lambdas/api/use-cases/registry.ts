/**
 * PUT /clusters/{name}, GET /clusters, PUT /credentials/{name}: the secret store, written through
 * the SecretWriter port and read back as names only. Bodies are checked before anything is stored;
 * no message repeats a value.
 */
import { parse } from 'yaml';
import type { z } from 'zod';
import { kubeFromKubeconfig } from '../../adapters/kube';
import type { SshCredential } from '../../ports';
import { HttpError } from '../http';
import type { ApiDependencies } from '../ports';
import {
  clusterBodySchema,
  credentialBodySchema,
  isClusterName,
  isCredentialName,
  keyCredentialSchema,
  passwordCredentialSchema,
  type ClusterList,
} from '../schemas';

const CREDENTIAL_HINT = 'send {"passwd": "…"} or {"sshkey": "…", "knownHosts"?: "…"} as application/json';
const CLUSTER_HINT = 'send {"kubeconfig": "<the kubeconfig as one string>"} as application/json';

/** The body as JSON; the parser's own message is not repeated (it may quote the body). */
function jsonBody(body: string, hint: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not JSON', hint);
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
  throw new HttpError(400, `invalid request body${detail}`, hint);
}

export function parseCredentialBody(body: string): SshCredential {
  const value = jsonBody(body, CREDENTIAL_HINT);
  const parsed = credentialBodySchema.safeParse(value);
  if (parsed.success) return parsed.data;
  // A union's own verdict is unreadable: say what the body lacks, or judge it by the shape it aims at.
  const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  const unknown = keys.filter((k) => !['passwd', 'sshkey', 'knownHosts'].includes(k));
  if (unknown.length > 0) {
    const names = unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ');
    throw new HttpError(400, `invalid request body: unknown field ${names}`, CREDENTIAL_HINT);
  }
  if (keys.includes('passwd') === keys.includes('sshkey')) {
    throw new HttpError(400, 'invalid request body: set exactly one of passwd or sshkey', CREDENTIAL_HINT);
  }
  const branch = keys.includes('passwd') ? passwordCredentialSchema : keyCredentialSchema;
  const result = branch.safeParse(value);
  refuseBody(result.success ? [] : result.error.issues, CREDENTIAL_HINT);
}

export async function putCredential(deps: ApiDependencies, name: string, body: string): Promise<void> {
  if (!isCredentialName(name)) {
    throw new HttpError(
      400,
      `${JSON.stringify(name.slice(0, 80))} is not a credential name`,
      'expected a DNS-1123 subdomain, as spec.sshCredential',
    );
  }
  const credential = parseCredentialBody(body);
  const outcome = await deps.secrets.putCredential(name, credential);
  deps.log.info('credential stored', {
    credential: name,
    outcome,
    kind: credential.sshkey ? 'sshkey' : 'passwd',
  });
}

interface KubeconfigShape {
  'current-context'?: unknown;
  contexts?: Array<{ name?: unknown; context?: { cluster?: unknown } }>;
  clusters?: Array<{ name?: unknown; cluster?: { server?: unknown } }>;
}

function readKubeconfig(text: string): KubeconfigShape | string {
  try {
    const doc = (parse(text, { maxAliasCount: 10 }) ?? {}) as unknown;
    return typeof doc === 'object' && doc !== null && !Array.isArray(doc)
      ? doc
      : 'the kubeconfig is not a mapping';
  } catch {
    return 'the kubeconfig is not YAML or JSON';
  }
}

/** The kubeconfig's problems in words that name its structure, never its content. */
function kubeconfigProblem(text: string): string | undefined {
  const doc = readKubeconfig(text);
  if (typeof doc === 'string') return doc;
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') return 'the kubeconfig has no current-context';
  const context = (doc.contexts ?? []).find((c) => c?.name === current)?.context;
  if (!context) {
    return `the kubeconfig's current-context ${JSON.stringify(current.slice(0, 60))} is not among its contexts`;
  }
  const server = (doc.clusters ?? []).find((c) => c?.name === context.cluster)?.cluster?.server;
  return typeof server === 'string' && /^https?:\/\/[^\s]+$/.test(server)
    ? undefined
    : "the kubeconfig's current context names no cluster with an http(s) server";
}

export async function putCluster(deps: ApiDependencies, name: string, body: string): Promise<void> {
  if (!isClusterName(name)) {
    throw new HttpError(
      400,
      `${JSON.stringify(name.slice(0, 80))} is not a cluster name`,
      'expected [A-Za-z0-9._-], at most 63 characters',
    );
  }
  const parsed = clusterBodySchema.safeParse(jsonBody(body, CLUSTER_HINT));
  if (!parsed.success) refuseBody(parsed.error.issues, CLUSTER_HINT);
  const { kubeconfig } = parsed.data;
  const problem = kubeconfigProblem(kubeconfig);
  if (problem !== undefined) throw new HttpError(400, `invalid kubeconfig: ${problem}`, CLUSTER_HINT);
  try {
    // The client library's own reading, and the product's refusal of exec and auth-provider users.
    kubeFromKubeconfig(name, kubeconfig);
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace('the stored kubeconfig', 'the kubeconfig') : 'unusable';
    throw new HttpError(400, `invalid kubeconfig: ${message}`, CLUSTER_HINT);
  }
  const outcome = await deps.secrets.putCluster(name, kubeconfig);
  deps.log.info('cluster registered', { cluster: name, outcome });
}

export async function listClusters(deps: ApiDependencies): Promise<ClusterList> {
  const names = await deps.clusters.list();
  return { items: names.map((name) => ({ name })) };
}
