import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerClusters } from '../../../lambdas/adapters/secrets';
import { resolveCluster } from '../../../lambdas/use-cases/cluster-choice';
import { ErrorNames, PenetratorError } from '../../../lambdas/errors';
import { resolveSettings } from '../../../lambdas/settings';

const sm = mockClient(SecretsManagerClient);
const clusters = new SecretsManagerClusters('penetrator/');
const deps = { clusters, settings: resolveSettings() };

function registered(...names: string[]): void {
  sm.on(ListSecretsCommand).resolves({
    SecretList: names.map((n) => ({ Name: `penetrator/clusters/${n}` })),
  });
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    if (names.some((n) => input.SecretId === `penetrator/clusters/${n}`))
      return { SecretString: 'kubeconfig' };
    throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
  });
}

async function refusal(promise: Promise<unknown>): Promise<PenetratorError & { hint?: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PenetratorError);
  return error as PenetratorError & { hint?: string };
}

beforeEach(() => sm.reset());

describe('resolveCluster', () => {
  it('takes the query parameter first, then spec.cluster, after checking it is registered', async () => {
    registered('prod', 'staging');
    expect(await resolveCluster(deps, 'staging', 'prod')).toBe('staging');
    expect(await resolveCluster(deps, undefined, 'prod')).toBe('prod');
    expect(sm).not.toHaveReceivedCommand(ListSecretsCommand);
  });

  it('takes the only registered cluster when none is named', async () => {
    registered('prod');
    expect(await resolveCluster(deps, undefined)).toBe('prod');
  });

  it('refuses the request listing them when several are registered and none is named', async () => {
    registered('prod', 'staging');
    const error = await refusal(resolveCluster(deps, undefined));
    expect(error.name).toBe(ErrorNames.RequestInvalid);
    expect(error.message).toBe('several clusters are registered (prod, staging); name one');
    expect(error.hint).toContain('?cluster=');
  });

  it('says how to register a cluster when the named one is not, and when none is', async () => {
    registered('prod');
    expect(await refusal(resolveCluster(deps, 'edge-eu'))).toMatchObject({
      name: ErrorNames.ClusterNotFound,
      hint: expect.stringContaining('PUT /clusters/{name}') as unknown,
    });
    registered();
    const error = await refusal(resolveCluster(deps, undefined));
    expect(error).toMatchObject({ name: ErrorNames.ClusterNotFound, message: 'no cluster is registered' });
  });

  it('refuses a name no cluster can have, without asking Secrets Manager', async () => {
    const error = await refusal(resolveCluster(deps, 'prod/../x'));
    expect(error.name).toBe(ErrorNames.RequestInvalid);
    expect(sm.calls()).toHaveLength(0);
  });
});
