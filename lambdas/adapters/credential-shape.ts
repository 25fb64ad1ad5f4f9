/** The shape of a stored SSH credential, shared by the Secrets Manager and file stores. */
import { CredentialInvalidError } from '../errors';
import type { SshCredential } from '../ports';

/**
 * The credential's shape, checked without ever quoting a value: passwd or sshkey (a non-empty
 * string), optionally knownHosts.
 */
export function parseCredential(name: string, where: string, value: unknown): SshCredential {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CredentialInvalidError(
      `credential ${name} (${where}) is not an object; expected {"passwd": …} or {"sshkey": …}`,
    );
  }
  const record = value as Record<string, unknown>;
  const credential: SshCredential = {};
  for (const key of ['passwd', 'sshkey', 'knownHosts'] as const) {
    const field = record[key];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string')
      throw new CredentialInvalidError(`credential ${name} (${where}): ${key} is not a string`);
    if (field.trim() !== '') credential[key] = field;
  }
  if (credential.passwd === undefined && credential.sshkey === undefined) {
    throw new CredentialInvalidError(`credential ${name} (${where}) holds neither passwd nor sshkey`);
  }
  return credential;
}
