/**
 * Every secret the API writes gets a resource policy that denies its value to anyone but the
 * product's reader roles, named by the stack in the writer Lambda's environment. Secrets Manager is
 * mocked at the SDK boundary; the policy sent is read back and checked statement by statement.
 */
import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as clusters } from '../../../lambdas/handlers/api-clusters';
import { handler as credentials } from '../../../lambdas/handlers/api-credentials';
import { secretReadPolicy } from '../../../lambdas/domain/secret-policy';
import { apiEvent } from './api-event';

const PLAN_ROLE = 'arn:aws:iam::123456789012:role/Penetrator-PlanRole';
const PREPARE_ROLE = 'arn:aws:iam::123456789012:role/Penetrator-PrepareRole';
const TASKS_ROLE = 'arn:aws:iam::123456789012:role/Penetrator-TasksApiRole';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  // As the stack sets them (infra/penetrator-stack.ts), with a stray space and comma.
  process.env.PENETRATOR_CREDENTIAL_READERS =
    'arn:aws:iam::123456789012:role/Penetrator-PlanRole, arn:aws:iam::123456789012:role/Penetrator-PrepareRole,';
  process.env.PENETRATOR_CLUSTER_READERS = 'arn:aws:iam::123456789012:role/Penetrator-TasksApiRole';
});

const sm = mockClient(SecretsManagerClient);
const CA = readFileSync('test/fixtures/certs/kubernetes-ca.crt').toString('base64');
const KUBECONFIG = JSON.stringify({
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority-data': CA } }],
  users: [{ name: 'u', user: { token: 't' } }],
  contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
  'current-context': 'x',
});

interface Statement {
  Effect: string;
  Principal: unknown;
  Action: string;
  Condition: { StringNotEquals: { 'aws:PrincipalArn': string[] } };
}

/** The statements of the one policy sent for the secret. */
function policySentFor(secretId: string): Statement[] {
  const calls = sm.commandCalls(PutResourcePolicyCommand, { SecretId: secretId });
  expect(calls).toHaveLength(1);
  const input = calls[0]!.args[0].input;
  expect(input.BlockPublicPolicy).toBe(true);
  return (JSON.parse(input.ResourcePolicy!) as { Statement: Statement[] }).Statement;
}

beforeEach(() => sm.reset());

describe('the read policy of a written secret', () => {
  it('denies a credential to every principal but the roles that read credentials', async () => {
    sm.on(PutSecretValueCommand).rejects(new ResourceNotFoundException({ message: 'none', $metadata: {} }));
    const response = await credentials(
      apiEvent('PUT', '/credentials/{name}', {
        path: { name: 'login' },
        body: JSON.stringify({ passwd: 'pw', clusters: ['prod'] }),
        contentType: 'application/json',
      }),
    );
    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, { Name: 'penetrator/credentials/login' });
    expect(policySentFor('penetrator/credentials/login')).toEqual([
      {
        Sid: 'OnlyPenetratorReadersGetTheValue',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': [PLAN_ROLE, PREPARE_ROLE] } },
      },
    ]);
  });

  it('sets it again on every write, so an older secret follows the current roles', async () => {
    const response = await credentials(
      apiEvent('PUT', '/credentials/{name}', {
        path: { name: 'login' },
        body: JSON.stringify({ sshkey: 'KEY', clusters: ['prod'] }),
        contentType: 'application/json',
      }),
    );
    expect(response.statusCode).toBe(204);
    expect(sm).not.toHaveReceivedCommand(CreateSecretCommand);
    expect(policySentFor('penetrator/credentials/login')[0]!.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalArn': [PLAN_ROLE, PREPARE_ROLE] },
    });
  });

  it("gives a kubeconfig the clusters' readers, and writes no policy when the name is taken", async () => {
    const put = () =>
      clusters(
        apiEvent('PUT', '/clusters/{name}', {
          path: { name: 'prod' },
          body: JSON.stringify({ kubeconfig: KUBECONFIG }),
          contentType: 'application/json',
        }),
      );
    expect((await put()).statusCode).toBe(204);
    expect(policySentFor('penetrator/clusters/prod')[0]!.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalArn': [TASKS_ROLE] },
    });

    sm.reset();
    sm.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    expect((await put()).statusCode).toBe(409);
    expect(sm).not.toHaveReceivedCommand(PutResourcePolicyCommand);
  });

  it('is never built without a reader: that would lock the product out of its own secret', () => {
    expect(() => secretReadPolicy([])).toThrow(/at least one reader role/);
  });
});
