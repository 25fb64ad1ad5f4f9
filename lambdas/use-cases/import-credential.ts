/**
 * One-time import of a credential the original keeps in the cluster (`edge-system/login-secret`,
 * keys passwd or sshkey) into the product's store, then the in-cluster copy is deleted: the product
 * projects credentials into the cluster only for the time of a task. The copy is deleted only once
 * the store has it, and only as it was read (a Secret changed in between is kept). The values are
 * never logged or returned.
 */
import { TASK_NAMESPACE } from '../domain/contracts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../domain/job-names';
import type { SecretObject } from '../domain/kube-types';
import { CredentialInvalidError } from '../errors';
import type { Kube } from '../ports';

/** What the original's Secret holds: one of its two keys. */
export type ImportedCredential = { passwd: string } | { sshkey: string };

export interface ImportCredentialRequest {
  /** The Secret's name, and the credential's name in the store. */
  name: string;
  namespace?: string;
}

export interface ImportCredentialResult {
  name: string;
  secret: string;
  kind: 'password' | 'private key';
  /** `kept`: the Secret changed after it was read; it was left in place for the operator to look at. */
  inCluster: 'deleted' | 'kept' | 'already-gone';
}

const decode = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

/** passwd or sshkey, as the original reads them; anything else in the Secret is not imported. */
function credentialOf(secret: SecretObject, where: string): ImportedCredential {
  const passwd = decode(secret.data?.passwd);
  const sshkey = decode(secret.data?.sshkey);
  if ((passwd ?? '').trim() === '' && (sshkey ?? '').trim() === '') {
    throw new CredentialInvalidError(`secret ${where} holds neither passwd nor sshkey; nothing imported`);
  }
  return sshkey !== undefined && sshkey.trim() !== '' ? { sshkey } : { passwd: passwd! };
}

export async function importCredential(
  kube: Kube,
  store: (name: string, credential: ImportedCredential) => Promise<void>,
  request: ImportCredentialRequest,
): Promise<ImportCredentialResult> {
  const namespace = request.namespace ?? TASK_NAMESPACE;
  const where = `${namespace}/${request.name}`;
  const secret = await kube.get<SecretObject>({ kind: 'Secret', namespace, name: request.name });
  if (secret === undefined) throw new CredentialInvalidError(`secret ${where} does not exist`);
  if (secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
    throw new CredentialInvalidError(
      `secret ${where} is a task's projection of a stored credential, not one to import; it is left as it is`,
    );
  }
  const credential = credentialOf(secret, where);
  await store(request.name, credential);
  const deleted = await kube.delete(
    { kind: 'Secret', namespace, name: request.name },
    secret.metadata.resourceVersion !== undefined ? { resourceVersion: secret.metadata.resourceVersion } : {},
  );
  return {
    name: request.name,
    secret: where,
    kind: 'sshkey' in credential ? 'private key' : 'password',
    inCluster: deleted === 'deleted' ? 'deleted' : deleted === 'conflict' ? 'kept' : 'already-gone',
  };
}
