/**
 * The credential Secret the install Job mounts: the SSH secret, the join token and pinned host keys.
 */
import { TASK_NAMESPACE } from './contracts';
import { credentialSecretName } from './job-names';
import type { SecretObject } from './kube-types';
import { managedLabels, ownerReference, type PreparedTask } from './prepared-task';

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
