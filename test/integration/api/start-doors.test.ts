/**
 * Every door that starts a task takes one start path: POST /tasks (the tasks Lambda) and a "Reinstall
 * Nodes" event (the reinstall Lambda), both through their real handlers against a real apiserver.
 * Whatever names a door makes — short, exactly at Step Functions' 80-character limit, or cut and
 * hashed — GET /tasks/{name} and DELETE /tasks/{name} find the execution it started. Both doors
 * refuse a taken name and a busy cluster before StartExecution. Step Functions and Secrets Manager
 * are mocked at the SDK boundary; the executions only exist there (none runs).
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type ExecutionStatus,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { kubeFromKubeconfig } from '../../../lambdas/adapters/kube';
import { handler as tasksHandler } from '../../../lambdas/handlers/api-tasks';
import { LOCK_LEASE_NAME, TASK_NAMESPACE } from '../../../lambdas/domain/contracts';
import { MAX_EXECUTION_NAME } from '../../../lambdas/domain/execution-names';
import { lockLease } from '../../../lambdas/domain/lock-lease';
import { ErrorNames } from '../../../lambdas/errors';
import { handler as reinstallHandler } from '../../../lambdas/handlers/reinstall';
import { startControlPlane, type ControlPlane } from '../../../sandbox/control-plane';
import { productIdentity } from '../../../sandbox/product-identity';

vi.hoisted(() => {
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  process.env.PENETRATOR_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
const SHORT_CLUSTER = 'edge';
/** The longest cluster name the product accepts: every execution name of its tasks is cut and hashed. */
const LONG_CLUSTER = `c${'l'.repeat(61)}c`;
/** 35 + `--` + 35 + `--` + 6 = exactly 80 characters: the longest name that is not cut. */
const BOUNDARY_CLUSTER = 'b'.repeat(35);

const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);

interface Execution {
  arn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  input: string;
}
const executions = new Map<string, Execution>();

let cp: ControlPlane;
/** What the registered clusters hold: a token bound to the shipped RBAC only. */
let productKubeconfig: string;

function apiEvent(
  method: string,
  resource: string,
  options: { name?: string; cluster?: string; body?: string } = {},
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    resource,
    path: resource.replace('{name}', options.name ?? ''),
    pathParameters: options.name ? { name: options.name } : null,
    queryStringParameters: options.cluster ? { cluster: options.cluster } : null,
    multiValueQueryStringParameters: null,
    headers: options.body ? { 'content-type': 'application/json' } : {},
    multiValueHeaders: {},
    body: options.body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'doors-1' } as APIGatewayProxyEvent['requestContext'],
  };
}

async function call(e: APIGatewayProxyEvent): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await tasksHandler(e);
  return { status: response.statusCode, body: JSON.parse(response.body || '{}') as Record<string, unknown> };
}

function nodeTask(name: string): string {
  return JSON.stringify({
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: {
      nodeNamePrefix: 'edge',
      targetMachines: ['198.18.0.10'],
      sshCredential: 'login-secret',
      proxyNode: 'proxy-0',
    },
  });
}

function reinstallEvent(id: string, cluster: string, taskName?: string) {
  return {
    id,
    source: 'penetrator',
    'detail-type': 'Reinstall Nodes',
    detail: {
      cluster,
      nodeNamesOverride: { 'edge-abc123': '198.18.0.10', 'edge-def456': '198.18.0.11' },
      sshCredential: 'login-secret',
      proxyNode: 'proxy-0',
      ...(taskName ? { taskName } : {}),
    },
  };
}

interface Reinstalled {
  task: string;
  cluster: string;
  executionName: string;
  executionArn?: string;
}

const reinstall = (event: unknown) => reinstallHandler(event) as Promise<Reinstalled>;

function mockAws(): void {
  const clusters = [SHORT_CLUSTER, LONG_CLUSTER, BOUNDARY_CLUSTER];
  // Every credential is bound to the three clusters (lambdas/domain/credential-bounds.ts).
  sm.on(DescribeSecretCommand).resolves({ Tags: [{ Key: 'penetrator:clusters', Value: clusters.join(' ') }] });
  sm.on(ListSecretsCommand).resolves({
    SecretList: clusters.map((c) => ({ Name: `penetrator/clusters/${c}` })),
  });
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    if (clusters.some((c) => input.SecretId === `penetrator/clusters/${c}`)) {
      return { SecretString: productKubeconfig };
    }
    throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
  });
  sfn.on(StartExecutionCommand).callsFake((input: { name: string; input: string }) => {
    const arn = `arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:${input.name}`;
    if (executions.has(arn)) throw new ExecutionAlreadyExists({ message: 'exists', $metadata: {} });
    executions.set(arn, {
      arn,
      name: input.name,
      status: 'RUNNING',
      startDate: new Date(),
      input: input.input,
    });
    return { executionArn: arn, startDate: new Date() };
  });
  sfn.on(ListExecutionsCommand).callsFake((input: { statusFilter?: ExecutionStatus }) => ({
    executions: [...executions.values()]
      .filter((e) => input.statusFilter === undefined || e.status === input.statusFilter)
      .reverse()
      .map((e) => ({
        executionArn: e.arn,
        stateMachineArn: MACHINE,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
      })),
  }));
  sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const e = executions.get(input.executionArn);
    if (!e) throw new ExecutionDoesNotExist({ message: 'no such execution', $metadata: {} });
    return {
      executionArn: e.arn,
      stateMachineArn: MACHINE,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      input: e.input,
    };
  });
  sfn.on(StopExecutionCommand).callsFake((input: { executionArn: string }) => {
    const e = executions.get(input.executionArn);
    if (e) e.status = 'ABORTED';
    return { stopDate: new Date() };
  });
}

beforeAll(async () => {
  cp = await startControlPlane();
  productKubeconfig = (await productIdentity(cp)).kubeconfigYaml;
});

afterAll(async () => {
  await cp?.stop();
});

beforeEach(() => {
  sm.reset();
  sfn.reset();
  executions.clear();
  mockAws();
});

/** Finds the task by status, then cancels it: DELETE must stop exactly the execution the door started. */
async function expectFoundByStatusAndCancel(
  name: string,
  cluster: string,
  executionArn: string,
): Promise<void> {
  const shown = await call(apiEvent('GET', '/tasks/{name}', { name, cluster }));
  expect(shown.status).toBe(200);
  expect(shown.body).toMatchObject({
    metadata: { name },
    execution: { arn: executionArn, status: 'RUNNING' },
  });

  const cancelled = await call(apiEvent('DELETE', '/tasks/{name}', { name, cluster }));
  expect(cancelled).toEqual({ status: 202, body: { name, cancelled: true } });
  expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, { executionArn });
  expect(executions.get(executionArn)?.status).toBe('ABORTED');
}

describe('one start path for every door', () => {
  const cases = [
    { what: 'short names', cluster: SHORT_CLUSTER, task: 'nodes' },
    { what: 'names exactly at the limit', cluster: BOUNDARY_CLUSTER, task: 't'.repeat(35) },
    { what: 'names cut and hashed', cluster: LONG_CLUSTER, task: `t${'x'.repeat(54)}t` },
  ];

  it.each(cases)('a task submitted through the API with $what is found by status and cancel', async (c) => {
    const submitted = await call(apiEvent('POST', '/tasks', { cluster: c.cluster, body: nodeTask(c.task) }));
    expect(submitted.status).toBe(202);
    const executionArn = submitted.body.executionArn as string;
    expect(executionArn.split(':').pop()!.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
    await expectFoundByStatusAndCancel(c.task, c.cluster, executionArn);
  });

  it.each(cases)('a reinstall started by an event with $what is found by status and cancel', async (c) => {
    const output = await reinstall(reinstallEvent(`event-${c.cluster.length}`, c.cluster, c.task));
    expect(output.task).toBe(c.task);
    expect(output.executionName.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
    expect(output.executionArn).toBe(
      `arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:${output.executionName}`,
    );
    await expectFoundByStatusAndCancel(c.task, c.cluster, output.executionArn!);
  });

  it('an event starts the reinstall NodeTask, with no secret in the execution input', async () => {
    const output = await reinstall(reinstallEvent('7bf73129-1428-4cd3-a780-95db273d1602', SHORT_CLUSTER));

    expect(output.task).toMatch(/^reinstall-[a-z0-9]{6}$/);
    expect(output.executionName).toMatch(new RegExp(`^edge--${output.task}--[a-z0-9]{6}$`));
    const request = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(request.name).toBe(output.executionName);
    expect(JSON.parse(request.input!)).toEqual({
      nodeTask: {
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name: output.task },
        spec: {
          cluster: SHORT_CLUSTER,
          nodeNamesOverride: { 'edge-abc123': '198.18.0.10', 'edge-def456': '198.18.0.11' },
          sshCredential: 'login-secret',
          proxyNode: 'proxy-0',
        },
      },
      cluster: SHORT_CLUSTER,
    });
    expect(request.input).not.toMatch(/passwd|sshkey|token|kubeconfig/i);
  });

  it('an event delivered twice meets its own execution and starts nothing more', async () => {
    const event = reinstallEvent('delivered-twice', SHORT_CLUSTER);
    const first = await reinstall(event);
    const again = await reinstall(event);

    expect(first.executionArn).toBeDefined();
    expect(again).toMatchObject({ task: first.task, executionName: first.executionName });
    expect(again.executionArn).toBeUndefined();
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const other = await reinstall(reinstallEvent('another-event', SHORT_CLUSTER));
    expect(other.task).not.toBe(first.task);
  });

  it('an event naming a task that runs already is refused like a second submit, before StartExecution', async () => {
    const submitted = await call(
      apiEvent('POST', '/tasks', { cluster: SHORT_CLUSTER, body: nodeTask('rack-7') }),
    );
    expect(submitted.status).toBe(202);

    await expect(reinstall(reinstallEvent('rack-7-event', SHORT_CLUSTER, 'rack-7'))).rejects.toMatchObject({
      name: ErrorNames.TaskConflict,
      message: expect.stringMatching(/^task rack-7 is already running in cluster edge/) as unknown,
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('both doors refuse while another task holds the cluster, naming it, before StartExecution', async () => {
    // The lock as the workflow's Take cluster lock writes it for a running task.
    const kube = kubeFromKubeconfig(SHORT_CLUSTER, cp.kubeconfigYaml);
    await kube.create(
      lockLease({
        name: LOCK_LEASE_NAME,
        holder: 'older/edge--older--abc123',
        durationSeconds: 300,
        now: new Date(),
      }),
    );
    try {
      const busy = await call(
        apiEvent('POST', '/tasks', { cluster: SHORT_CLUSTER, body: nodeTask('second') }),
      );
      expect(busy).toEqual({
        status: 409,
        body: {
          message: 'cluster edge is busy: task older is running',
          runningTask: 'older',
          hint: 'wait for it to end, or cancel it with DELETE /tasks/older?cluster=edge',
        },
      });
      await expect(reinstall(reinstallEvent('busy-event', SHORT_CLUSTER))).rejects.toMatchObject({
        name: ErrorNames.ClusterBusy,
        holder: 'older',
      });
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    } finally {
      await kube.delete({ kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME });
    }
  });
});
