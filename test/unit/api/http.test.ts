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
import { STATUS_BY_ERROR, errorResponse, mediaType, parseEvent } from '../../../lambdas/api/http';
import {
  ClusterBusyError,
  ClusterExistsError,
  ClusterNotFoundError,
  CredentialInvalidError,
  ErrorNames,
  InputTooLargeError,
  InvalidNodeTaskError,
  RequestInvalidError,
  TaskConflictError,
  TaskNotFoundError,
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

  it.each([
    [new RequestInvalidError('the request body is not JSON', 'send JSON'), 400],
    [new ClusterNotFoundError('no cluster is registered', 'register it'), 404],
    [new TaskNotFoundError('task t not found in cluster prod', 'list the tasks'), 404],
    [new ClusterExistsError('cluster prod is already registered', 'add ?replace=true'), 409],
    [new InputTooLargeError('the execution input is too large', 'split the machines'), 413],
  ])('keeps the hint of %s', (error, status) => {
    const response = errorResponse(error, 'r-1');
    expect(response.statusCode).toBe(status);
    expect(body(response)).toEqual({ message: error.message, hint: error.hint });
  });

  it('lists every problem of an invalid request, as a kubeconfig refused for several reasons', () => {
    const error = new RequestInvalidError('invalid kubeconfig: a; b', 'send a kubeconfig', ['a', 'b']);
    expect(body(errorResponse(error, 'r-1'))).toEqual({
      message: 'invalid kubeconfig: a; b',
      hint: 'send a kubeconfig',
      problems: ['a', 'b'],
    });
  });

  it('maps only errors that are the caller’s to a client status: a workflow failure stays a 500', () => {
    expect(STATUS_BY_ERROR[ErrorNames.InstallFailed]).toBeUndefined();
    expect(STATUS_BY_ERROR[ErrorNames.LockLost]).toBeUndefined();
    expect(errorResponse(new TaskNotFoundError('gone'), 'r-1').statusCode).toBe(404);
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
