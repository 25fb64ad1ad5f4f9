/**
 * The object store in AWS: the stack's work bucket (encrypted, expiring, see infra/). Its name comes
 * from the environment of the Lambdas that use it; the others neither get it nor may touch it.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WORK_BUCKET_ENV } from '../domain/work-objects';
import { TransientError } from '../errors';
import type { ObjectStore } from '../ports';

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = new S3Client({}),
  ) {}

  async putJson(key: string, value: unknown): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(value),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw new TransientError(`S3: writing ${key} to bucket ${this.bucket} failed (${errorName(error)})`);
    }
  }

  async getJson(key: string): Promise<unknown> {
    let text: string;
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await answer.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      throw new TransientError(`S3: reading ${key} from bucket ${this.bucket} failed (${errorName(error)})`);
    }
    return JSON.parse(text) as unknown;
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/** The store named by the environment, or undefined for a Lambda that is given none. */
export function s3ObjectStoreFromEnv(env: NodeJS.ProcessEnv): S3ObjectStore | undefined {
  const bucket = env[WORK_BUCKET_ENV];
  return bucket ? new S3ObjectStore(bucket) : undefined;
}
