/**
 * The bootstrap token an execution's machines join with, as the Secret kube-system holds it.
 */
import { createHash } from 'node:crypto';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL } from './job-names';
import type { SecretObject } from './kube-types';
import { rfc3339 } from './kube-time';
import { managedLabels } from './prepared-task';

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
