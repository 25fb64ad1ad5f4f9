/**
 * The API's tasks routes, the real Lambda handler in-process, against a real control plane, a test
 * kubelet running the proxy node inside an edge site, and real sshd machines. Step Functions and
 * Secrets Manager are mocked at the SDK boundary; the "execution" a test cancels is the synthesized
 * state machine run locally (cli/local/run-workflow.ts), which the StopExecution mock aborts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type ExecutionStatus,
} from '@aws-sdk/client-sfn';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalRuntime, LocalRuntimes } from '../../../cli/local/local-runtime';
import { sharedAssembly } from '../../support/shared-assembly';
import { apiGatewayRequest, type DeployedRoute, deployedRoutes } from '../../support/api-gateway-events';
import { runWorkflowLocally, type WorkflowRunResult } from '../../../cli/local/run-workflow';
import { handler } from '../../../lambdas/handlers/api-tasks';
import { LOCK_LEASE_NAME, TASK_NAMESPACE } from '../../../lambdas/domain/contracts';
import { startTestEnvironment, type TestEnvironment } from '../../../sandbox/env';

vi.hoisted(() => {
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  process.env.PENETRATOR_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
  // Powertools writes through the global console, where the test reads its lines.
  process.env.POWERTOOLS_DEV = 'true';
});

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
const CLUSTER = 'edge';
const PASSWORD = 'edge-root-pw-api';
const PROXY = 'vm-2-117-centos';
const REFUSING = '172.21.3.196';
const ADD_EXAMPLE = readFileSync(new URL('../../../examples/add-nodes.yaml', import.meta.url), 'utf8');
const WAIT_MS = 60_000;

const sm = mockClient(SecretsManagerClient);
const sfn = mockClient(SFNClient);

/** What Step Functions would know: executions started through the API, and local runs posing as executions. */
interface Execution {
  arn: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  abort?: () => void;
}
const executions = new Map<string, Execution>();

let env: TestEnvironment;
let definition: object;
const TASKS_DESCRIPTION = 'HTTP API: submit, list, describe and cancel NodeTasks';
const runtimes = new LocalRuntimes({}, sharedAssembly);
let workflowRuntime: LocalRuntime;
let workDir: string;
let credentialPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;
let logLines: string[];

let routes: DeployedRoute[];
let tasksFunction: string;

/** The request as API Gateway sends it for the deployed route, which must be the tasks function's. */
function event(
  method: string,
  resource: string,
  options: { name?: string; body?: string; contentType?: string } = {},
): APIGatewayProxyEvent {
  const url = resource.replace('{name}', encodeURIComponent(options.name ?? ''));
  const request = apiGatewayRequest(routes, method, url, {
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.contentType ? { contentType: options.contentType } : {}),
    userArn: 'arn:aws:iam::123456789012:user/op',
  });
  if (request.route.functionId !== tasksFunction) {
    throw new Error(`${method} ${resource} is served by ${request.route.functionId}, not the tasks Lambda`);
  }
  return request;
}

async function call(e: APIGatewayProxyEvent): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await handler(e);
  return {
    status: response.statusCode,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  };
}

function nodeTask(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode: PROXY, ...spec },
  });
}

function mockSecretsManager(kubeconfig: string): void {
  // Every credential is bound to the cluster (lambdas/domain/credential-bounds.ts).
  sm.on(DescribeSecretCommand).resolves({ Tags: [{ Key: 'penetrator:clusters', Value: CLUSTER }] });
  sm.on(ListSecretsCommand).resolves({ SecretList: [{ Name: `penetrator/clusters/${CLUSTER}` }] });
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    if (input.SecretId === `penetrator/clusters/${CLUSTER}`) return { SecretString: kubeconfig };
    throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
  });
}

function listed(e: Execution) {
  return {
    executionArn: e.arn,
    stateMachineArn: MACHINE,
    name: e.name,
    status: e.status,
    startDate: e.startDate,
    ...(e.stopDate ? { stopDate: e.stopDate } : {}),
  };
}

function mockStepFunctions(): void {
  sfn.on(StartExecutionCommand).callsFake((input: { name: string; input: string }) => {
    const arn = `arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:${input.name}`;
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
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .map(listed),
  }));
  sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const e = executions.get(input.executionArn);
    if (!e) throw new ExecutionDoesNotExist({ message: 'no such execution', $metadata: {} });
    return { ...listed(e), input: e.input };
  });
  sfn.on(StopExecutionCommand).callsFake((input: { executionArn: string }) => {
    executions.get(input.executionArn)?.abort?.();
    return { stopDate: new Date() };
  });
}

/** A local run of the synthesized definition, registered as a running execution of that name. */
function startLocalRun(document: string, executionName: string): Promise<WorkflowRunResult> {
  const { handlers, objects } = workflowRuntime;
  const controller = new AbortController();
  const arn = `arn:aws:states:local:000000000000:execution:penetrator:${executionName}`;
  const input = { nodeTask: JSON.parse(document) as unknown, cluster: CLUSTER };
  const execution: Execution = {
    arn,
    name: executionName,
    status: 'RUNNING',
    startDate: new Date(),
    input: JSON.stringify(input),
    abort: () => controller.abort(),
  };
  executions.set(arn, execution);
  const run = runWorkflowLocally({
    definition,
    input,
    handlers,
    objects,
    executionName,
    pollSeconds: 0.5,
    retryIntervalSeconds: 5,
    signal: controller.signal,
  });
  // Step Functions reports the end once the run is over; until then a stopped execution is still RUNNING.
  void run.then((result) => {
    execution.status =
      result.status === 'ABORTED' ? 'ABORTED' : result.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
    execution.stopDate = new Date();
  });
  return run;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await check())) throw new Error(`${what} did not happen within ${WAIT_MS} ms`);
    },
    { timeout: WAIT_MS, interval: 200 },
  );
}

async function leaseHolder(): Promise<string | undefined> {
  const lease = await coordination
    .readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE })
    .catch(() => undefined);
  return lease?.spec?.holderIdentity;
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: '172.21.3.0/24',
        proxyNode: PROXY,
        machines: [{ ip: REFUSING, password: PASSWORD, refuseLogin: true }],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-api-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  // The workflow behind the mocked StartExecution runs the deployed bundles.
  workflowRuntime = await runtimes.open({
    kubeconfigYaml: env.product.kubeconfigYaml,
    clusterName: CLUSTER,
    credentialPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  definition = workflowRuntime.definition;
  const template = await runtimes.template();
  routes = deployedRoutes(template);
  tasksFunction = Object.entries(template.Resources ?? {}).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Description === TASKS_DESCRIPTION,
  )![0];
  mockSecretsManager(env.product.kubeconfigYaml);
  mockStepFunctions();
  logLines = [];
  for (const level of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(' '));
    });
  }
});

afterAll(async () => {
  await runtimes.dispose();
  vi.restoreAllMocks();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the HTTP API against a real cluster', () => {
  it('submits the seed example as YAML: 202, and an execution input that holds names and addresses only', async () => {
    const { status, body } = await call(
      event('POST', '/tasks', { body: ADD_EXAMPLE, contentType: 'application/yaml' }),
    );

    expect(status).toBe(202);
    expect(body).toMatchObject({
      name: 'nodes',
      cluster: CLUSTER,
      statusUrl: `/tasks/nodes?cluster=${CLUSTER}`,
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const request = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(request.stateMachineArn).toBe(MACHINE);
    expect(request.name).toMatch(/^edge--nodes--[a-z0-9]{6}$/);
    expect(body.executionArn).toBe(
      `arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:${request.name}`,
    );
    expect(JSON.parse(request.input!)).toEqual({
      nodeTask: parseYaml(ADD_EXAMPLE) as unknown,
      cluster: CLUSTER,
    });
    expect(request.input).not.toContain(PASSWORD);
    expect(request.input).not.toContain(env.cp.adminToken);

    // Submitted again while that execution runs: refused, nothing started.
    const again = await call(event('POST', '/tasks', { body: ADD_EXAMPLE, contentType: 'application/yaml' }));
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/^task nodes is already running in cluster edge/);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });

  it('refuses a second task while another holds the cluster, shows the running one, and cancels it leaving nothing behind', async () => {
    const run = startLocalRun(
      nodeTask('slow', { nodeNamePrefix: 'slow', targetMachines: [REFUSING], maxAttempts: 5 }),
      'edge--slow--abc123',
    );
    await waitFor(
      'the slow task taking the lock',
      async () => (await leaseHolder())?.startsWith('slow/') === true,
    );

    const busy = await call(
      event('POST', '/tasks', {
        body: nodeTask('second', { nodeNamePrefix: 'second', targetMachines: ['172.21.3.197'] }),
        contentType: 'application/json',
      }),
    );
    expect(busy).toEqual({
      status: 409,
      body: {
        message: 'cluster edge is busy: task slow is running',
        runningTask: 'slow',
        hint: 'wait for it to end, or cancel it with DELETE /tasks/slow?cluster=edge',
      },
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);

    const selector = 'penetrator.superedge.io/task=slow';
    await waitFor('an install Job of the slow task', async () => {
      const jobs = await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector });
      return jobs.items.length > 0;
    });
    const shown = await call(event('GET', '/tasks/{name}', { name: 'slow' }));
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      kind: 'NodeTask',
      metadata: { name: 'slow' },
      spec: { targetMachines: [REFUSING], maxAttempts: 5 },
      status: { nodetaskStatus: 'creating', progress: { total: 1, installed: 0 } },
      execution: {
        arn: 'arn:aws:states:local:000000000000:execution:penetrator:edge--slow--abc123',
        status: 'RUNNING',
      },
    });
    const [node] = (shown.body.status as { nodes: Array<{ ip: string; state: string; attempts: number }> })
      .nodes;
    expect(node).toMatchObject({ ip: REFUSING });
    expect(node!.attempts).toBeGreaterThanOrEqual(1);
    expect(['installing', 'failed']).toContain(node!.state);
    const listing = await call(event('GET', '/tasks'));
    expect(listing.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'slow', executionStatus: 'RUNNING', total: 1 }),
      ]),
    );

    const cancelled = await call(event('DELETE', '/tasks/{name}', { name: 'slow' }));

    expect(cancelled).toEqual({ status: 202, body: { name: 'slow', cancelled: true } });
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: 'arn:aws:states:local:000000000000:execution:penetrator:edge--slow--abc123',
      error: 'Penetrator.Cancelled',
      cause: 'cancelled through the API',
    });
    expect((await run).status).toBe('ABORTED');
    const jobs = await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector });
    expect(jobs.items.map((j) => j.metadata?.name)).toEqual([]);
    await expect(
      core.readNamespacedSecret({ name: 'penetrator-credential-slow', namespace: TASK_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    await expect(
      core.readNamespacedConfigMap({ name: 'penetrator-task-slow', namespace: TASK_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    expect(await leaseHolder()).toBeUndefined();

    // The task's Events tell why it ended.
    const events = await call(event('GET', '/tasks/{name}/events', { name: 'slow' }));
    expect(events.status).toBe(200);
    expect(JSON.stringify(events.body)).toContain('Penetrator.Cancelled');
  });

  it('never wrote a secret into its log lines', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(env.cp.adminToken);
    }
  });
});
