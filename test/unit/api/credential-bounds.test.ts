/**
 * Bound credentials at the API, with Secrets Manager mocked at the SDK boundary: PUT /credentials
 * stores the clusters and ranges as tags beside the value, and POST /tasks refuses a task outside
 * them from the tags alone — no credential value is read and nothing is started.
 */
import { readFileSync } from 'node:fs';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as credentials } from '../../../lambdas/handlers/api-credentials';
import { handler as tasks } from '../../../lambdas/handlers/api-tasks';
import { apiEvent } from './api-event';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  process.env.PENETRATOR_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
});

const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const CA = readFileSync('test/fixtures/certs/kubernetes-ca.crt').toString('base64');
const KUBECONFIG = JSON.stringify({
  clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority-data': CA } }],
  users: [{ name: 'u', user: { token: 't' } }],
  contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
  'current-context': 'x',
});

function submit(spec: Record<string, unknown>) {
  return tasks(
    apiEvent('POST', '/tasks', {
      body: JSON.stringify({
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name: 'nodes' },
        spec: { sshCredential: 'login', proxyNode: 'proxy-1', nodeNamePrefix: 'edge', ...spec },
      }),
      contentType: 'application/json',
      query: { cluster: 'prod' },
    }),
  );
}

beforeEach(() => {
  sm.reset();
  sfn.reset();
  sm.on(GetSecretValueCommand, { SecretId: 'penetrator/clusters/prod' }).resolves({
    SecretString: KUBECONFIG,
  });
});

describe('PUT /credentials/{name} with bounds', () => {
  it('stores the clusters and ranges as tags of the secret, after its value', async () => {
    const response = await credentials(
      apiEvent('PUT', '/credentials/{name}', {
        path: { name: 'login' },
        body: JSON.stringify({ passwd: 'pw', clusters: ['prod', 'lab'], ranges: ['10.0.0.0/8'] }),
        contentType: 'application/json',
      }),
    );
    expect(response.statusCode).toBe(204);
    expect(sm).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: 'penetrator/credentials/login' });
    expect(sm).toHaveReceivedCommandWith(TagResourceCommand, {
      SecretId: 'penetrator/credentials/login',
      Tags: [
        { Key: 'penetrator:clusters', Value: 'prod lab' },
        { Key: 'penetrator:ranges', Value: '10.0.0.0/8' },
      ],
    });
    expect(sm).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('refuses a range that is not a CIDR, storing nothing', async () => {
    const response = await credentials(
      apiEvent('PUT', '/credentials/{name}', {
        path: { name: 'login' },
        body: JSON.stringify({ passwd: 'pw', clusters: ['prod'], ranges: ['10.0.0.0'] }),
        contentType: 'application/json',
      }),
    );
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('ranges');
    expect(sm.calls()).toHaveLength(0);
  });
});

describe('POST /tasks outside the bounds', () => {
  it.each([
    ['a credential without clusters', [], 'spec.sshCredential: credential login names no cluster'],
    [
      'a credential for another cluster',
      [{ Key: 'penetrator:clusters', Value: 'lab' }],
      'spec.sshCredential: credential login may not be used for cluster prod (it serves lab)',
    ],
    [
      'a machine outside the ranges',
      [
        { Key: 'penetrator:clusters', Value: 'prod' },
        { Key: 'penetrator:ranges', Value: '192.168.0.0/16' },
      ],
      'spec.targetMachines[0]: 10.1.2.3 is outside the ranges credential login may reach (192.168.0.0/16)',
    ],
  ])(
    'refuses %s with the field path, reading no credential and starting nothing',
    async (_what, tags, problem) => {
      sm.on(DescribeSecretCommand, { SecretId: 'penetrator/credentials/login' }).resolves({ Tags: tags });
      const response = await submit({ targetMachines: ['10.1.2.3'] });
      expect(response.statusCode).toBe(400);
      const body = JSON.parse(response.body) as { message: string; problems: string[] };
      expect(body.message).toBe('invalid NodeTask');
      expect(body.problems.join('\n')).toContain(problem);
      expect(sm).not.toHaveReceivedCommandWith(GetSecretValueCommand, {
        SecretId: 'penetrator/credentials/login',
      });
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    },
  );
});
