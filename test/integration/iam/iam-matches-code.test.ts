/**
 * IAM that matches the code: every handler is driven in-process through its AWS paths, against a
 * real control plane, with the AWS SDK clients mocked by aws-sdk-client-mock. Each command a
 * function sends must be allowed by that function's role in the synthesized template (action and
 * resource), and each action its role grants (beyond the runtime's logs and X-Ray) must be used.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../infra/create-app';
import type { PenetratorFunction } from '../../../infra/constructs/penetrator-function';
import type { PenetratorStack } from '../../../infra/penetrator-stack';
import type { PlanOutput, TaskRef } from '../../../lambdas/domain/contracts';
import { resetAwsDependencies } from '../../../lambdas/aws-composition';
import { startTestEnvironment, type TestEnvironment } from '../../../sandbox/env';
import { apiGatewayRequest, deployedRoutes, type DeployedRoute } from '../../support/api-gateway-events';
import { plannedLists, writeMapResults } from '../../support/work-objects';
import type { ObjectStore } from '../../../lambdas/ports';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const CLUSTER = 'edge';
const PROXY = 'vm-2-117-centos';
const MACHINE = '172.21.77.10';

type Json = Record<string, unknown>;
type Resource = { Type?: string; Properties?: Json };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const s3 = mockClient(S3Client);
/** The work bucket's objects, by key: what the mocked S3 stores and answers. */
const bucketObjects = new Map<string, string>();
/** The same objects seen as the state machine sees them (its ItemReader and ResultWriter). */
const bucketAsStore: ObjectStore = {
  putJson: (key, value) => Promise.resolve(void bucketObjects.set(key, JSON.stringify(value))),
  getJson: (key) => Promise.resolve(JSON.parse(bucketObjects.get(key) ?? 'null') as unknown),
};

let env: TestEnvironment;
let stack: PenetratorStack;
let resources: Record<string, Resource>;
let routes: DeployedRoute[];
const savedEnv = { ...process.env };

function resolveRef(ref: string): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
  };
  const r = resources[ref];
  if (pseudo[ref]) return pseudo[ref];
  if (r?.Type === 'AWS::StepFunctions::StateMachine') {
    return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${String(r.Properties?.StateMachineName)}`;
  }
  if (r?.Type === 'AWS::Events::EventBus') return String(r.Properties?.Name);
  return `ref:${ref}`;
}

function resolveGetAtt([id, attribute]: [string, string]): string {
  const r = resources[id];
  if (r?.Type === 'AWS::Events::EventBus' && attribute === 'Arn') {
    return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${String(r.Properties?.Name)}`;
  }
  if (r?.Type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${resolveRef(id)}`;
  return `getatt:${id}.${attribute}`;
}

/** A template value with intrinsics as CloudFormation would resolve them, for ARN matching. */
function resolve(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (typeof v.Ref === 'string') return resolveRef(v.Ref);
  const getAtt = v['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt) return resolveGetAtt(getAtt);
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(resolve).join(join[0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

const glob = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

function logicalId(fn: PenetratorFunction): string {
  return stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
}

function statementsOf(fn: PenetratorFunction): Statement[] {
  const role = (resources[logicalId(fn)]?.Properties?.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) => (r.Properties?.Roles as Array<{ Ref: string }>).some((x) => x.Ref === role))
    .flatMap((r) => (r.Properties?.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((s) => s.Effect === 'Allow');
}

function environmentOf(fn: PenetratorFunction): Record<string, string> {
  const vars = (resources[logicalId(fn)]?.Properties?.Environment as { Variables: Json }).Variables;
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolve(v)]));
}

/** An AWS SDK call as IAM authorises it. */
interface Call {
  action: string;
  resource: string;
}

const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;

/**
 * What Secrets Manager asks of the product's key on the caller's behalf, with the caller's rights
 * (kms:ViaService): Decrypt for a value it reads; GenerateDataKey and Decrypt for a value it writes.
 */
function keyUseBySecretsManager(action: string): Call[] {
  const keys = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::KMS::Key');
  const [keyId] = keys.map(([id]) => id);
  if (keys.length !== 1 || keyId === undefined)
    throw new Error(`expected one product key, found ${keys.length}`);
  const resource = resolveGetAtt([keyId, 'Arn']);
  if (action === 'secretsmanager:GetSecretValue') return [{ action: 'kms:Decrypt', resource }];
  if (action === 'secretsmanager:CreateSecret' || action === 'secretsmanager:PutSecretValue') {
    // AWS documents both for a caller that creates or changes a secret value under its own key.
    return [
      { action: 'kms:GenerateDataKey', resource },
      { action: 'kms:Decrypt', resource },
    ];
  }
  return [];
}

function recorded(): Call[] {
  const calls: Call[] = [];
  for (const call of sm.calls()) {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: Json };
    const action = `secretsmanager:${command.constructor.name.replace(/Command$/, '')}`;
    const name = command.input.SecretId ?? command.input.Name;
    calls.push({ action, resource: typeof name === 'string' ? secretArn(name) : '*' });
    calls.push(...keyUseBySecretsManager(action));
  }
  for (const call of sfn.calls()) {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: Json };
    const action = `states:${command.constructor.name.replace(/Command$/, '')}`;
    calls.push({ action, resource: String(command.input.executionArn ?? command.input.stateMachineArn) });
  }
  for (const call of s3.calls()) {
    const command = call.args[0] as unknown as { constructor: { name: string }; input: Json };
    const action = `s3:${command.constructor.name.replace(/Command$/, '')}`;
    calls.push({
      action,
      resource: `arn:aws:s3:::${String(command.input.Bucket)}/${String(command.input.Key)}`,
    });
  }
  for (const call of events.calls()) {
    const command = call.args[0] as { input: { Entries: Array<{ EventBusName: string }> } };
    for (const entry of command.input.Entries) {
      const bus = entry.EventBusName.startsWith('arn:')
        ? entry.EventBusName
        : `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${entry.EventBusName}`;
      calls.push({ action: 'events:PutEvents', resource: bus });
    }
  }
  return calls;
}

const allowed = (statements: Statement[], call: Call): boolean =>
  statements.some(
    (s) =>
      list(s.Action).some((a) => glob(String(a).toLowerCase(), call.action.toLowerCase())) &&
      list(s.Resource).some((r) => glob(resolve(r), call.resource)),
  );

/**
 * What the role grants that no recorded call used. Excluded: what Lambda itself does with the role
 * (logs, X-Ray segments, the dead-letter queue of asynchronous invocations), never a handler.
 */
function unused(statements: Statement[], calls: Call[]): string[] {
  return statements.flatMap((s) =>
    list(s.Action)
      .map(String)
      .filter((a) => !/^(logs|xray|sqs):/.test(a))
      .flatMap((action) =>
        list(s.Resource)
          .map(resolve)
          .filter(
            (resource) =>
              !calls.some(
                (c) => c.action.toLowerCase() === action.toLowerCase() && glob(resource, c.resource),
              ),
          )
          .map((resource) => `${action} on ${resource}`),
      ),
  );
}

/** Runs `scenario` with `fn`'s environment and returns what it sent; a handler's failure is its own business. */
async function callsOf(fn: PenetratorFunction, scenario: () => Promise<unknown>): Promise<Call[]> {
  sm.resetHistory();
  sfn.resetHistory();
  events.resetHistory();
  s3.resetHistory();
  process.env = { ...savedEnv, ...environmentOf(fn), AWS_REGION: REGION };
  resetAwsDependencies();
  await scenario().catch(() => undefined);
  return recorded();
}

const executionArn = (name: string) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:Penetrator-workflow:${name}`;
const RUNNING = `${CLUSTER}--nodes--abc123`;

/** What the mocked services answer next; scenarios switch these instead of stacking one-off answers. */
const answers = { noExecutions: false, secretMissing: false, inputWithoutCluster: false };

function mockAws(kubeconfig: string): void {
  s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
    bucketObjects.set(input.Key, input.Body);
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const text = bucketObjects.get(input.Key);
    if (text === undefined) throw new NoSuchKey({ message: 'none', $metadata: {} });
    return { Body: { transformToString: () => Promise.resolve(text) } };
  });
  sm.on(ListSecretsCommand).resolves({ SecretList: [{ Name: `penetrator/clusters/${CLUSTER}` }] });
  sm.on(GetSecretValueCommand, { SecretId: `penetrator/clusters/${CLUSTER}` }).resolves({
    SecretString: kubeconfig,
  });
  sm.on(GetSecretValueCommand, { SecretId: 'penetrator/credentials/login-secret' }).resolves({
    SecretString: JSON.stringify({ passwd: 'iam-test-pw' }),
  });
  // The credential and the cluster are bound to each other (lambdas/domain/credential-bounds.ts).
  sm.on(DescribeSecretCommand).resolves({ Tags: [{ Key: 'penetrator:clusters', Value: CLUSTER }] });
  sm.on(CreateSecretCommand).resolves({});
  sm.on(PutSecretValueCommand).callsFake(() => {
    if (answers.secretMissing) throw new ResourceNotFoundException({ message: 'none', $metadata: {} });
    return {};
  });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: executionArn(input.name),
    startDate: new Date(),
  }));
  const running = () => ({
    executionArn: executionArn(RUNNING),
    name: RUNNING,
    stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Penetrator-workflow`,
    status: 'RUNNING' as const,
    startDate: new Date(),
  });
  sfn.on(ListExecutionsCommand).callsFake(() => ({ executions: answers.noExecutions ? [] : [running()] }));
  sfn.on(DescribeExecutionCommand).callsFake(() => ({
    ...running(),
    status: 'ABORTED',
    stopDate: new Date(),
    input: JSON.stringify({
      nodeTask: { metadata: { name: 'nodes' } },
      ...(answers.inputWithoutCluster ? {} : { cluster: CLUSTER }),
    }),
  }));
  sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
}

const nodeTask = {
  apiVersion: 'nodetask.apps.superedge.io/v1beta1',
  kind: 'NodeTask',
  metadata: { name: 'nodes' },
  spec: {
    nodeNamePrefix: 'edge',
    targetMachines: [MACHINE],
    sshCredential: 'login-secret',
    proxyNode: PROXY,
  },
};

/** The same machine in direct mode, which the cluster's direct ranges bound. */
function directTask(): unknown {
  const { nodeNamePrefix, targetMachines, sshCredential } = nodeTask.spec;
  const spec = { nodeNamePrefix, targetMachines, sshCredential, mode: 'direct' };
  return { ...nodeTask, metadata: { name: 'direct' }, spec };
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      { subnet: '172.21.77.0/24', proxyNode: PROXY, machines: [{ ip: MACHINE, password: 'iam-test-pw' }] },
    ],
  });
  mockAws(env.product.kubeconfigYaml);
  stack = createApp({
    // The installer image is pulled by the cluster, never by a Lambda's role: a named one keeps the
    // asset's URI out of the environments this test resolves.
    context: {
      'aws:cdk:bundling-stacks': [],
      'penetrator:packageSource': 'none',
      'penetrator:installerImage': 'penetrator-installer:test',
    },
    nag: false,
  }).stack;
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
  resources = template.Resources;
  routes = deployedRoutes(template);
});

afterAll(async () => {
  process.env = savedEnv;
  sm.restore();
  sfn.restore();
  events.restore();
  await env?.stop();
});

async function workflow(name: string): Promise<(payload: unknown) => Promise<unknown>> {
  const file = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return (
    (await import(`../../../lambdas/handlers/${file}.ts`)) as { handler: (p: unknown) => Promise<unknown> }
  ).handler;
}

async function api(group: string, method: string, url: string, body?: string): Promise<unknown> {
  const { handler } = (await import(`../../../lambdas/handlers/api-${group}.ts`)) as {
    handler: (e: unknown) => Promise<unknown>;
  };
  const response = (await handler(
    apiGatewayRequest(routes, method, url, body ? { body, contentType: 'application/json' } : {}),
  )) as { statusCode: number };
  // Every request is one the route accepts: a refusal would skip the calls this test is about.
  if (response.statusCode >= 400) throw new Error(`${method} ${url}: ${JSON.stringify(response)}`);
  return response;
}

describe('each role allows exactly what its handler calls', () => {
  it('holds for all twelve functions', async () => {
    const calls: Record<string, Call[]> = {};
    const executionId = executionArn('edge--nodes--iam001');
    let plan: PlanOutput | undefined;
    let task: TaskRef | undefined;
    calls.plan = await callsOf(stack.functions.plan, async () => {
      // A direct-mode task reads its cluster's direct ranges (tags); the mocked cluster names none.
      const refused = await (
        await workflow('plan')
      )({ input: { nodeTask: directTask() }, executionId }).catch((e: unknown) => e as Error);
      expect(refused).toMatchObject({ name: 'Penetrator.InvalidNodeTask' });
      plan = (await (await workflow('plan'))({ input: { nodeTask }, executionId })) as PlanOutput;
    });
    expect(plan?.work.nodes).toBe(1);
    const [node] = (await plannedLists(bucketAsStore, plan!)).nodes;
    calls.lock = await callsOf(stack.functions.lock, async () =>
      (await workflow('lock'))({ action: 'acquire', task: plan!.task }),
    );
    calls.prepare = await callsOf(stack.functions.prepare, async () => {
      task = (await (await workflow('prepare'))({ task: plan!.task, work: plan!.work })) as TaskRef;
    });
    expect(task?.credentialSecret).toBeDefined();
    const step = { task, node };
    calls.startInstall = await callsOf(stack.functions.startInstall, async () =>
      (await workflow('startInstall'))(step),
    );
    calls.checkInstall = await callsOf(stack.functions.checkInstall, async () =>
      (await workflow('checkInstall'))({ ...step, attempt: { job: 'x', number: 1 } }),
    );
    const results = await writeMapResults(bucketAsStore, plan!, [
      { name: node!.name, ip: MACHINE, state: 'failed', reason: 'iam test' },
    ]);
    calls.summarize = await callsOf(stack.functions.summarize, async () =>
      (await workflow('summarize'))({ task, work: plan!.work, results }),
    );
    calls.cleanup = await callsOf(stack.functions.cleanup, async () => (await workflow('cleanup'))({ task }));

    const { tasks, credentials, clusters } = stack.api.functions;
    calls.tasks = await callsOf(tasks, async () => {
      // Refused (the cluster names no direct ranges) after reading the cluster's tags.
      await expect(api('tasks', 'POST', '/tasks', JSON.stringify(directTask()))).rejects.toThrow(
        /: \{"statusCode":400/,
      );
      answers.noExecutions = true;
      await api('tasks', 'POST', '/tasks', JSON.stringify({ ...nodeTask, metadata: { name: 'other' } }));
      answers.noExecutions = false;
      await api('tasks', 'GET', '/tasks');
      await api('tasks', 'GET', '/tasks/nodes');
      await api('tasks', 'DELETE', `/tasks/nodes?cluster=${CLUSTER}`);
    });
    // Stored once as an update, once as a new secret (PutSecretValue finds none, CreateSecret follows);
    // once with bounds (tagged), once without (untagged).
    calls.credentials = await callsOf(credentials, async () => {
      const bound = { passwd: 'iam-test-pw', clusters: [CLUSTER], ranges: ['172.21.77.0/24'] };
      await api('credentials', 'PUT', '/credentials/login-secret', JSON.stringify(bound));
      answers.secretMissing = true;
      await api('credentials', 'PUT', '/credentials/login-secret', JSON.stringify({ passwd: 'iam-test-pw' }));
      answers.secretMissing = false;
    });
    calls.clusters = await callsOf(clusters, async () => {
      const body = JSON.stringify({ kubeconfig: env.product.kubeconfigYaml });
      const bounded = JSON.stringify({ kubeconfig: env.product.kubeconfigYaml, directRanges: ['172.21.77.0/24'] });
      await api('clusters', 'PUT', `/clusters/${CLUSTER}?replace=true`, bounded);
      answers.secretMissing = true;
      await api('clusters', 'PUT', `/clusters/${CLUSTER}`, body);
      answers.secretMissing = false;
      await api('clusters', 'GET', '/clusters');
    });
    calls.reinstall = await callsOf(stack.events.reinstall, async () => {
      const { handler } = await import('../../../lambdas/handlers/reinstall');
      const detail = { cluster: CLUSTER, sshCredential: 'login-secret' };
      await handler({ id: 'e1', detail: { ...detail, labelSelector: 'no-such=label' } }).catch(
        () => undefined,
      );
      await handler({
        id: 'e2',
        detail: { ...detail, nodeNamesOverride: { 'edge-x': MACHINE }, proxyNode: PROXY },
      });
    });
    calls.executionEnded = await callsOf(stack.events.executionEnded, async () => {
      const { handler } = await import('../../../lambdas/handlers/execution-ended');
      const arn = executionArn(RUNNING);
      await handler({ detail: { executionArn: arn, status: 'ABORTED' } });
      // An input that names no cluster: the only registered one is looked up.
      answers.inputWithoutCluster = true;
      await handler({ detail: { executionArn: arn, status: 'ABORTED' } });
      answers.inputWithoutCluster = false;
    });

    const functions: Record<string, PenetratorFunction> = {
      ...stack.functions,
      tasks,
      credentials,
      clusters,
      reinstall: stack.events.reinstall,
      executionEnded: stack.events.executionEnded,
    };
    const denied: Record<string, string[]> = {};
    const notUsed: Record<string, string[]> = {};
    for (const [name, fn] of Object.entries(functions)) {
      const statements = statementsOf(fn);
      const sent = calls[name] ?? [];
      const refused = sent.filter((c) => !allowed(statements, c)).map((c) => `${c.action} on ${c.resource}`);
      if (refused.length > 0) denied[name] = [...new Set(refused)];
      const idle = unused(statements, sent);
      if (idle.length > 0) notUsed[name] = idle;
    }
    expect(Object.keys(calls)).toHaveLength(12);
    expect({ denied, notUsed }).toEqual({ denied: {}, notUsed: {} });
  });
});
