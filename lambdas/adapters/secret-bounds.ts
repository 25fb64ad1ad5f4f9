/**
 * The bounds of credentials and clusters (lambdas/domain/credential-bounds.ts) as tags of their
 * secrets: read with DescribeSecret, which returns no value, so a task outside them is refused
 * before any credential leaves Secrets Manager; written with TagResource/UntagResource next to the
 * value.
 */
import {
  DescribeSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type SecretsManagerClient as Client,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { TransientError } from '../errors';

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

function transient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    /Throttling|TooManyRequests|InternalServiceError|ServiceUnavailable|Timeout/.test(errorName(error)) ||
    (typeof status === 'number' && (status >= 500 || status === 429))
  );
}

/** The secret's tags; undefined when it does not exist. */
export async function secretTags(
  client: Client,
  secretId: string,
  fail: (message: string) => Error,
): Promise<Tag[] | undefined> {
  try {
    const answer = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return answer.DeletedDate ? undefined : (answer.Tags ?? []);
  } catch (error) {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException') return undefined;
    if (transient(error))
      throw new TransientError(`Secrets Manager: describing ${secretId} failed transiently (${name})`);
    throw fail(`Secrets Manager: ${secretId} cannot be described (${name})`);
  }
}

/** Sets the given tags and removes the other keys of `managed`: the bounds are exactly those given. */
export async function writeBoundTags(
  client: Client,
  secretId: string,
  tags: Record<string, string>,
  managed: readonly string[],
): Promise<void> {
  const absent = managed.filter((key) => tags[key] === undefined);
  const given = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  try {
    if (absent.length > 0)
      await client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: absent }));
    if (given.length > 0) await client.send(new TagResourceCommand({ SecretId: secretId, Tags: given }));
  } catch (error) {
    const name = errorName(error);
    if (transient(error))
      throw new TransientError(`Secrets Manager: tagging ${secretId} failed transiently (${name})`);
    throw new Error(`Secrets Manager: tagging ${secretId} failed (${name})`, { cause: error });
  }
}
