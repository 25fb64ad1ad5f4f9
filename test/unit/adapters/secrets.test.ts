import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SecretsManagerClusters,
  SecretsManagerCredentials,
  SecretsManagerWriter,
  secretsManagerClient,
} from '../../../lambdas/adapters/secrets';
import { ErrorNames } from '../../../lambdas/errors';

const sm = mockClient(SecretsManagerClient);
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n';

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({
    message: "Secrets Manager can't find the specified secret.",
    $metadata: {},
  });
}

function sdkError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

beforeEach(() => {
  sm.reset();
});

describe('SecretsManagerCredentials', () => {
  const store = new SecretsManagerCredentials('penetrator/', secretsManagerClient);

  it('reads <prefix>credentials/<name> and returns passwd, sshkey and knownHosts', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ sshkey: KEY, knownHosts: '198.18.0.10 ssh-ed25519 AAAA' }),
    });
    expect(await store.get('edge-root')).toEqual({ sshkey: KEY, knownHosts: '198.18.0.10 ssh-ed25519 AAAA' });
    expect(sm).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, {
      SecretId: 'penetrator/credentials/edge-root',
    });
  });

  it('accepts a password credential', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"passwd":"hunter2-root"}' });
    expect(await store.get('pw')).toEqual({ passwd: 'hunter2-root' });
  });

  it('reports a missing secret as CredentialInvalid naming the secret id', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    const error = await failure(store.get('absent'));
    expect(error.name).toBe(ErrorNames.CredentialInvalid);
    expect(error.message).toContain('penetrator/credentials/absent');
  });

  it('reports malformed JSON without quoting the value', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'passwd: hunter2-root' });
    const error = await failure(store.get('yaml'));
    expect(error.name).toBe(ErrorNames.CredentialInvalid);
    expect(error.message).toMatch(/is not JSON/);
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['neither key', { knownHosts: 'x' }],
    ['empty values', { passwd: '', sshkey: '  ' }],
    ['an array', ['hunter2-root']],
  ])('refuses a credential with %s', async (_what, value) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    const error = await failure(store.get('bad'));
    expect(error.name).toBe(ErrorNames.CredentialInvalid);
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses a non-string key without quoting it', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ passwd: { nested: 'hunter2-root' } }),
    });
    const error = await failure(store.get('typed'));
    expect(error.message).toBe('credential typed (penetrator/credentials/typed): passwd is not a string');
  });

  it('turns throttling into a retryable Transient error and access denied into a fatal one', async () => {
    sm.on(GetSecretValueCommand).rejects(sdkError('ThrottlingException', 400));
    expect(await failure(store.get('x'))).toMatchObject({ name: ErrorNames.Transient, retryable: true });
    sm.reset();
    sm.on(GetSecretValueCommand).rejects(sdkError('AccessDeniedException', 400));
    expect(await failure(store.get('x'))).toMatchObject({
      name: ErrorNames.CredentialInvalid,
      retryable: false,
    });
  });
});

describe('SecretsManagerClusters', () => {
  const clusters = new SecretsManagerClusters('penetrator/', secretsManagerClient);

  it('reads a kubeconfig from <prefix>clusters/<name>', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' }).resolves({
      SecretString: 'apiVersion: v1\nkind: Config\n',
    });
    expect(await clusters.kubeconfig('prod')).toBe('apiVersion: v1\nkind: Config\n');
  });

  it('reports an unregistered cluster as ClusterNotFound', async () => {
    sm.on(GetSecretValueCommand).rejects(notFound());
    const error = await failure(clusters.kubeconfig('nowhere'));
    expect(error.name).toBe(ErrorNames.ClusterNotFound);
    expect(error.message).toBe('cluster nowhere is not registered: no secret penetrator/clusters/nowhere');
  });

  it('reports an empty secret as ClusterNotFound', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '  ' });
    expect(await failure(clusters.kubeconfig('empty'))).toMatchObject({ name: ErrorNames.ClusterNotFound });
  });

  it('lists cluster names by name prefix across pages, sorted, without deleted secrets', async () => {
    sm.on(ListSecretsCommand)
      .resolvesOnce({
        SecretList: [{ Name: 'penetrator/clusters/zeta' }, { Name: 'penetrator/clustersfoo' }],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        SecretList: [
          { Name: 'penetrator/clusters/alpha' },
          { Name: 'penetrator/clusters/gone', DeletedDate: new Date() },
        ],
      });
    expect(await clusters.list()).toEqual(['alpha', 'zeta']);
    expect(sm).toHaveReceivedCommandTimes(ListSecretsCommand, 2);
    expect(sm).toHaveReceivedNthCommandWith(ListSecretsCommand, 1, {
      Filters: [{ Key: 'name', Values: ['penetrator/clusters/'] }],
      MaxResults: 100,
    });
    expect(sm).toHaveReceivedNthCommandWith(ListSecretsCommand, 2, {
      Filters: [{ Key: 'name', Values: ['penetrator/clusters/'] }],
      MaxResults: 100,
      NextToken: 'page-2',
    });
    // Exactly these requests: the first page carries no NextToken.
    expect(sm.commandCalls(ListSecretsCommand).map((c) => c.args[0].input)).toEqual([
      { Filters: [{ Key: 'name', Values: ['penetrator/clusters/'] }], MaxResults: 100 },
      { Filters: [{ Key: 'name', Values: ['penetrator/clusters/'] }], MaxResults: 100, NextToken: 'page-2' },
    ]);
  });

  it('turns a failing ListSecrets into Transient when the service is unavailable', async () => {
    sm.on(ListSecretsCommand).rejects(sdkError('InternalServiceError', 500));
    expect(await failure(clusters.list())).toMatchObject({ name: ErrorNames.Transient });
  });
});

describe('SecretsManagerWriter and the product key', () => {
  const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  beforeEach(() => sm.reset());

  it('creates a cluster secret encrypted with the configured key', async () => {
    sm.on(CreateSecretCommand).resolves({});
    const writer = new SecretsManagerWriter('penetrator/', secretsManagerClient, KEY_ARN);
    await expect(writer.putCluster('edge', 'kubeconfig-text', 'create')).resolves.toBe('created');
    expect(sm).toHaveReceivedCommandTimes(CreateSecretCommand, 1);
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'penetrator/clusters/edge',
      SecretString: 'kubeconfig-text',
      Description: 'Penetrator: kubeconfig of cluster edge',
      KmsKeyId: KEY_ARN,
    });
  });

  it('creates a credential secret encrypted with the configured key when none exists', async () => {
    sm.on(PutSecretValueCommand).rejects(notFound());
    sm.on(CreateSecretCommand).resolves({});
    const writer = new SecretsManagerWriter('penetrator/', secretsManagerClient, KEY_ARN);
    await expect(writer.putCredential('root', { passwd: 'pw' })).resolves.toBe('created');
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'penetrator/credentials/root',
      SecretString: '{"passwd":"pw"}',
      Description: 'Penetrator: SSH credential root',
      KmsKeyId: KEY_ARN,
    });
  });

  it('names no key when none is configured (Secrets Manager picks its own)', async () => {
    sm.on(CreateSecretCommand).resolves({});
    await new SecretsManagerWriter('penetrator/').putCluster('edge', 'k', 'create');
    const [call] = sm.commandCalls(CreateSecretCommand);
    expect(call?.args[0].input).toEqual({
      Name: 'penetrator/clusters/edge',
      SecretString: 'k',
      Description: 'Penetrator: kubeconfig of cluster edge',
    });
  });
});
