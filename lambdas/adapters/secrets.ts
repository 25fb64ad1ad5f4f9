/**
 * Registered clusters and SSH credentials in AWS Secrets Manager:
 *   `<prefix>clusters/<name>`     a kubeconfig (YAML or JSON text)
 *   `<prefix>credentials/<name>`  JSON {"passwd": "…"} or {"sshkey": "…"}, optionally with "knownHosts"
 * Values never appear in messages or logs: only secret ids and what is wrong with their shape.
 */
import {
  CreateSecretCommand,
  type CreateSecretCommandInput,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClient as Client,
} from '@aws-sdk/client-secrets-manager';
import { ClusterNotFoundError, CredentialInvalidError, TransientError } from '../errors';
import type { ClusterDirectory, ClusterWrite, CredentialStore, SecretWriter, SshCredential } from '../ports';
import { parseCredential } from './credential-shape';
import { secretTags, writeBoundTags } from './secret-bounds';
import {
  BoundTags,
  boundsFromTags,
  type CredentialBounds,
  directRangesFromTags,
  type DirectRanges,
  type RecordedBounds,
} from '../domain/credential-bounds';
import { secretReadPolicy } from '../domain/secret-policy';

export { parseCredential } from './credential-shape';

/** One client per Lambda container: built at module load, reused by every invocation. */
export const secretsManagerClient: Client = new SecretsManagerClient({});

/** ListSecrets pages (100 names each) read at most: 10,000 registered clusters. */
const MAX_PAGES = 100;

const TRANSIENT_SDK_ERRORS = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function isTransient(error: unknown): boolean {
  if (TRANSIENT_SDK_ERRORS.has(errorName(error))) return true;
  const meta = error as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: unknown };
  if (meta.$retryable) return true;
  const status = meta.$metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  return (
    typeof meta.code === 'string' &&
    /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|ENOTFOUND)$/.test(meta.code)
  );
}

/** Reads a secret's string; ResourceNotFound → `undefined`, transient → TransientError, else `fail`. */
async function readSecretString(
  client: Client,
  secretId: string,
  fail: (message: string) => Error,
): Promise<string | undefined> {
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (answer.SecretString !== undefined) return answer.SecretString;
    if (answer.SecretBinary !== undefined) return Buffer.from(answer.SecretBinary).toString('utf8');
    return '';
  } catch (error) {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException') return undefined;
    if (isTransient(error))
      throw new TransientError(`Secrets Manager: reading ${secretId} failed transiently (${name})`);
    // AccessDenied, DecryptionFailure, InvalidRequest (scheduled for deletion): the secret cannot be used.
    throw fail(`Secrets Manager: ${secretId} cannot be read (${name})`);
  }
}

export class SecretsManagerClusters implements ClusterDirectory {
  constructor(
    private readonly prefix: string,
    private readonly client: Client = secretsManagerClient,
  ) {}

  private secretId(name: string): string {
    return `${this.prefix}clusters/${name}`;
  }

  async list(): Promise<string[]> {
    const namePrefix = `${this.prefix}clusters/`;
    const names: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let answer;
      try {
        answer = await this.client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'name', Values: [namePrefix] }],
            MaxResults: 100,
            ...(token ? { NextToken: token } : {}),
          }),
        );
      } catch (error) {
        if (isTransient(error))
          throw new TransientError(
            `Secrets Manager: listing ${namePrefix}* failed transiently (${errorName(error)})`,
          );
        throw new ClusterNotFoundError(
          `Secrets Manager: listing ${namePrefix}* failed (${errorName(error)})`,
        );
      }
      for (const secret of answer.SecretList ?? []) {
        // The name filter matches prefixes of words too; keep exact `<prefix>clusters/<name>` only.
        const name = secret.Name;
        if (name?.startsWith(namePrefix) && name.length > namePrefix.length && !secret.DeletedDate) {
          names.push(name.slice(namePrefix.length));
        }
      }
      token = answer.NextToken;
      if (!token) return [...new Set(names)].sort();
    }
    return [...new Set(names)].sort();
  }

  async kubeconfig(name: string): Promise<string> {
    const secretId = this.secretId(name);
    const text = await readSecretString(this.client, secretId, (m) => new ClusterNotFoundError(m));
    if (text === undefined) {
      throw new ClusterNotFoundError(`cluster ${name} is not registered: no secret ${secretId}`);
    }
    if (text.trim() === '')
      throw new ClusterNotFoundError(`cluster ${name}: secret ${secretId} is empty; expected a kubeconfig`);
    return text;
  }

  async directRanges(name: string): Promise<DirectRanges> {
    const secretId = this.secretId(name);
    const tags = await secretTags(this.client, secretId, (m) => new ClusterNotFoundError(m));
    if (tags === undefined)
      throw new ClusterNotFoundError(`cluster ${name} is not registered: no secret ${secretId}`);
    return directRangesFromTags(tags);
  }
}

export class SecretsManagerCredentials implements CredentialStore {
  constructor(
    private readonly prefix: string,
    private readonly client: Client = secretsManagerClient,
  ) {}

  async get(name: string): Promise<SshCredential> {
    const secretId = `${this.prefix}credentials/${name}`;
    const text = await readSecretString(this.client, secretId, (m) => new CredentialInvalidError(m));
    if (text === undefined)
      throw new CredentialInvalidError(`credential ${name} does not exist: no secret ${secretId}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the text: never repeat it.
      throw new CredentialInvalidError(
        `credential ${name} (${secretId}) is not JSON; expected {"passwd": …} or {"sshkey": …}`,
      );
    }
    return parseCredential(name, secretId, value);
  }

  async bounds(name: string): Promise<RecordedBounds> {
    const secretId = `${this.prefix}credentials/${name}`;
    const tags = await secretTags(this.client, secretId, (m) => new CredentialInvalidError(m));
    if (tags === undefined)
      throw new CredentialInvalidError(`credential ${name} does not exist: no secret ${secretId}`);
    return boundsFromTags(tags);
  }
}

/**
 * Writes a secret's value: a new version of an existing secret, or the secret itself when it does
 * not exist yet (and once more as a new version if another writer created it in between).
 */
export async function putSecretString(
  client: Client,
  secretId: string,
  value: string,
  description: string,
  kmsKeyId?: string,
): Promise<'created' | 'updated'> {
  const update = () => client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  try {
    await update();
    return 'updated';
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw writeError(secretId, error);
  }
  try {
    await client.send(new CreateSecretCommand(createRequest(secretId, value, description, kmsKeyId)));
    return 'created';
  } catch (error) {
    if (errorName(error) !== 'ResourceExistsException') throw writeError(secretId, error);
  }
  try {
    await update();
    return 'updated';
  } catch (error) {
    throw writeError(secretId, error);
  }
}

/**
 * A new secret is encrypted with the product's own key when one is configured: only the product's
 * roles may use that key (infra/constructs/secrets-key.ts), so a reader needs both grants.
 * PutSecretValue keeps the key the secret was created with.
 */
function createRequest(
  secretId: string,
  value: string,
  description: string,
  kmsKeyId: string | undefined,
): CreateSecretCommandInput {
  return {
    Name: secretId,
    SecretString: value,
    Description: description,
    ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}),
  };
}

/** A failed write, named by secret id and SDK error only (the request held the value). */
function writeError(secretId: string, error: unknown): Error {
  const name = errorName(error);
  if (isTransient(error))
    return new TransientError(`Secrets Manager: writing ${secretId} failed transiently (${name})`);
  if (name === 'InvalidRequestException') {
    // Typically a secret scheduled for deletion: it cannot take a value until restored.
    return Object.assign(
      new Error(
        `Secrets Manager: ${secretId} cannot be written now (${name}); if it is scheduled for deletion, restore it first`,
      ),
      { conflict: true },
    );
  }
  return new Error(`Secrets Manager: writing ${secretId} failed (${name})`);
}

/**
 * Sets a product secret's resource policy (domain/secret-policy.ts) right after its value, on every
 * write, so a secret written before a reader role changed is brought in line by its next write.
 */
async function putReadPolicy(client: Client, secretId: string, readers: readonly string[]): Promise<void> {
  try {
    await client.send(
      new PutResourcePolicyCommand({
        SecretId: secretId,
        ResourcePolicy: secretReadPolicy(readers),
        // Secrets Manager refuses a policy that would open the secret wider: this one only denies.
        BlockPublicPolicy: true,
      }),
    );
  } catch (error) {
    const name = errorName(error);
    if (isTransient(error))
      throw new TransientError(
        `Secrets Manager: setting the policy of ${secretId} failed transiently (${name})`,
      );
    throw new Error(`Secrets Manager: setting the policy of ${secretId} failed (${name})`, { cause: error });
  }
}

/** The roles that may read each kind of secret; a kind without them gets no resource policy (local runs). */
export interface SecretReaders {
  clusters?: readonly string[];
  credentials?: readonly string[];
}

/** The API's writes: `<prefix>clusters/<name>` (a kubeconfig) and `<prefix>credentials/<name>` (JSON). */
export class SecretsManagerWriter implements SecretWriter {
  constructor(
    private readonly prefix: string,
    private readonly client: Client = secretsManagerClient,
    /** The product's KMS key for new secrets; undefined: Secrets Manager's AWS-managed key. */
    private readonly kmsKeyId?: string,
    /** Who may read what is written (set by the stack on the writer Lambdas). */
    private readonly readers: SecretReaders = {},
  ) {}

  private async restrictReads(kind: keyof SecretReaders, secretId: string): Promise<void> {
    const readers = this.readers[kind];
    if (readers !== undefined && readers.length > 0) await putReadPolicy(this.client, secretId, readers);
  }

  async putCluster(
    name: string,
    kubeconfig: string,
    mode: 'create' | 'replace',
    directRanges: readonly string[] = [],
  ): Promise<ClusterWrite> {
    const outcome = await this.writeCluster(name, kubeconfig, mode);
    if (outcome !== 'exists') {
      await this.restrictReads('clusters', `${this.prefix}clusters/${name}`);
      const tags: Record<string, string> =
        directRanges.length > 0 ? { [BoundTags.directRanges]: directRanges.join(' ') } : {};
      await writeBoundTags(this.client, `${this.prefix}clusters/${name}`, tags, [BoundTags.directRanges]);
    }
    return outcome;
  }

  private async writeCluster(
    name: string,
    kubeconfig: string,
    mode: 'create' | 'replace',
  ): Promise<ClusterWrite> {
    const secretId = `${this.prefix}clusters/${name}`;
    const description = `Penetrator: kubeconfig of cluster ${name}`;
    if (mode === 'replace') {
      const outcome = await putSecretString(this.client, secretId, kubeconfig, description, this.kmsKeyId);
      return outcome === 'updated' ? 'replaced' : 'created';
    }
    // Create only: an existing cluster is never repointed at another apiserver by accident.
    try {
      await this.client.send(
        new CreateSecretCommand(createRequest(secretId, kubeconfig, description, this.kmsKeyId)),
      );
      return 'created';
    } catch (error) {
      if (errorName(error) === 'ResourceExistsException') return 'exists';
      throw writeError(secretId, error);
    }
  }

  async putCredential(
    name: string,
    credential: SshCredential,
    bounds: Partial<CredentialBounds> = {},
  ): Promise<'created' | 'updated'> {
    const secretId = `${this.prefix}credentials/${name}`;
    const value: SshCredential = {
      ...(credential.sshkey !== undefined
        ? { sshkey: credential.sshkey }
        : { passwd: credential.passwd ?? '' }),
      ...(credential.knownHosts !== undefined ? { knownHosts: credential.knownHosts } : {}),
    };
    const outcome = await putSecretString(
      this.client,
      secretId,
      JSON.stringify(value),
      `Penetrator: SSH credential ${name}`,
      this.kmsKeyId,
    );
    await this.restrictReads('credentials', secretId);
    // Written after the value: until then the credential serves no cluster (or its old ones).
    const tags: Record<string, string> = {};
    if (bounds.clusters?.length) tags[BoundTags.clusters] = bounds.clusters.join(' ');
    if (bounds.ranges?.length) tags[BoundTags.ranges] = bounds.ranges.join(' ');
    await writeBoundTags(this.client, secretId, tags, [BoundTags.clusters, BoundTags.ranges]);
    return outcome;
  }
}
