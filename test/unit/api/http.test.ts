import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerWriter } from '../../../lambdas/adapters/secrets';
import { HttpError, errorResponse, mediaType, parseEvent } from '../../../lambdas/api/http';
import {
  ClusterBusyError,
  ClusterNotFoundError,
  CredentialInvalidError,
  InvalidNodeTaskError,
  TaskConflictError,
  TransientError,
} from '../../../lambdas/errors';
import { apiEvent } from './api-event';

const body = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;

describe('errorResponse', () => {
  it.each([
    [new InvalidNodeTaskError(['spec: x']), 400, { message: 'invalid NodeTask', problems: ['spec: x'] }],
    [new CredentialInvalidError('credential c holds neither passwd nor sshkey'), 400, undefined],
    [new ClusterNotFoundError('cluster x is not registered'), 404, undefined],
    [new TaskConflictError('task t already exists with a different spec'), 409, undefined],
    [
      new ClusterBusyError('prod', 'other'),
      409,
      {
        message: 'cluster prod is busy: task other is running',
        runningTask: 'other',
        hint: 'wait for it to end, or cancel it with DELETE /tasks/other?cluster=prod',
      },
    ],
    [
      new TaskConflictError('task t already exists in cluster prod', 'delete task t first'),
      409,
      { message: 'task t already exists in cluster prod', hint: 'delete task t first' },
    ],
  ])('maps %s to its status with its own message', (error, status, expected) => {
    const response = errorResponse(error, 'r-1');
    expect(response.statusCode).toBe(status);
    expect(body(response)).toEqual(expected ?? { message: error.message });
  });

  it('keeps a refusal’s hint and extra fields', () => {
    const response = errorResponse(new HttpError(409, 'busy', 'wait', { runningTask: 'x' }), 'r-1');
    expect(body(response)).toEqual({ message: 'busy', hint: 'wait', runningTask: 'x' });
  });

  it('tells a transient failure as retryable and hides anything unexpected behind the request id', () => {
    expect(body(errorResponse(new TransientError('apiserver: ECONNRESET'), 'r-1'))).toEqual({
      message: 'apiserver: ECONNRESET',
      hint: 'a dependency failed transiently; try again',
    });
    const unexpected = errorResponse(
      new TypeError('cannot read x of undefined at /var/task/index.mjs:1'),
      'r-2',
    );
    expect(unexpected.statusCode).toBe(500);
    expect(unexpected.body).not.toContain('index.mjs');
    expect(body(unexpected)).toEqual({
      message: 'internal error',
      hint: "the API's logs hold the details under request id r-2",
    });
  });
});

describe('parseEvent', () => {
  it('reads headers case-insensitively, decodes base64 bodies and keeps the caller', () => {
    const request = parseEvent(
      apiEvent('POST', '/tasks', {
        body: 'kind: NodeTask',
        contentType: 'Application/YAML; charset=utf-8',
        base64: true,
      }),
    );
    expect(request).toMatchObject({
      method: 'POST',
      resource: '/tasks',
      body: 'kind: NodeTask',
      requestId: 'req-1',
    });
    expect(mediaType(request)).toBe('application/yaml');
    expect(request.caller).toBe('arn:aws:iam::123456789012:user/operator');
  });
});

describe('SecretsManagerWriter', () => {
  const sm = mockClient(SecretsManagerClient);
  const writer = new SecretsManagerWriter('penetrator/');
  beforeEach(() => sm.reset());

  it('writes a new version when another writer created the secret in between', async () => {
    sm.on(PutSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'no', $metadata: {} }))
      .resolves({});
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));

    expect(await writer.putCredential('login', { passwd: 'pw-x' })).toBe('updated');
    expect(sm).toHaveReceivedCommandTimes(PutSecretValueCommand, 2);
    expect(sm).toHaveReceivedNthCommandWith(PutSecretValueCommand, 2, {
      SecretId: 'penetrator/credentials/login',
      SecretString: '{"passwd":"pw-x"}',
    });
  });

  it('answers 409 through the API for a secret scheduled for deletion, naming it and not its value', async () => {
    sm.on(PutSecretValueCommand).rejects(
      Object.assign(
        new Error('You can’t perform this operation on the secret because it was marked for deletion.'),
        {
          name: 'InvalidRequestException',
          $metadata: { httpStatusCode: 400 },
        },
      ),
    );
    const error = await writer.putCluster('prod', 'kubeconfig-text', 'replace').then(
      () => new Error('expected a failure'),
      (e: unknown) => e,
    );
    const response = errorResponse(error, 'r-1');
    expect(response.statusCode).toBe(409);
    expect(body(response).message).toMatch(
      /penetrator\/clusters\/prod cannot be written now.*restore it first/,
    );
    expect(response.body).not.toContain('kubeconfig-text');
  });
});
