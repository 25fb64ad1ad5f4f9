import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { FileObjectStore } from '../../../lambdas/adapters/file-objects';
import { S3ObjectStore, s3ObjectStoreFromEnv } from '../../../lambdas/adapters/s3-objects';
import { WORK_BUCKET_ENV } from '../../../lambdas/domain/work-objects';
import { ErrorNames } from '../../../lambdas/errors';

const s3 = mockClient(S3Client);
beforeEach(() => s3.reset());

describe('the S3 object store', () => {
  it('writes JSON to the work bucket and reads it back', async () => {
    s3.on(PutObjectCommand).resolves({});
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: () => Promise.resolve('[{"name":"edge-a"}]') } as never,
    });
    const store = new S3ObjectStore('work-bucket', new S3Client({}));

    await store.putJson('tasks/x/work-list.json', [{ name: 'edge-a' }]);
    expect(await store.getJson('tasks/x/work-list.json')).toEqual([{ name: 'edge-a' }]);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'work-bucket',
      Key: 'tasks/x/work-list.json',
      Body: '[{"name":"edge-a"}]',
      ContentType: 'application/json',
    });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'work-bucket',
      Key: 'tasks/x/work-list.json',
    });
  });

  it('fails a read or write as a transient error naming the key and bucket, not the content', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: {} }));
    s3.on(PutObjectCommand).rejects(new Error('socket hang up'));
    const store = new S3ObjectStore('work-bucket', new S3Client({}));

    await expect(store.getJson('tasks/x/a.json')).rejects.toMatchObject({
      name: ErrorNames.Transient,
      message: 'S3: reading tasks/x/a.json from bucket work-bucket failed (NoSuchKey)',
    });
    await expect(store.putJson('tasks/x/b.json', { secret: 'never-shown' })).rejects.toThrow(
      /^S3: writing tasks\/x\/b\.json to bucket work-bucket failed \(Error\)$/,
    );
  });

  it('is built only for a Lambda given the bucket', () => {
    expect(s3ObjectStoreFromEnv({})).toBeUndefined();
    expect(s3ObjectStoreFromEnv({ [WORK_BUCKET_ENV]: 'work-bucket' })).toBeInstanceOf(S3ObjectStore);
  });
});

describe('the file object store', () => {
  const root = mkdtempSync(join(tmpdir(), 'penetrator-objects-test-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps each key as a private file under its directory, never half-written', async () => {
    const store = new FileObjectStore(root);
    await store.putJson('tasks/x/work-list.json', [1, 2]);
    expect(await store.getJson('tasks/x/work-list.json')).toEqual([1, 2]);
    expect(statSync(join(root, 'tasks/x/work-list.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'tasks/x'))).toEqual(['work-list.json']);
  });

  it('refuses a key that leaves its directory', async () => {
    const store = new FileObjectStore(root);
    await expect(store.putJson('../escape.json', 1)).rejects.toThrow(/not a relative path inside the store/);
    await expect(store.putJson('/etc/escape.json', 1)).rejects.toThrow(
      /not a relative path inside the store/,
    );
    await expect(store.getJson('tasks/missing.json')).rejects.toMatchObject({ name: ErrorNames.Transient });
  });
});
