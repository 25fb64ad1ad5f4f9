/**
 * POST /tasks/{name}/retry through the tasks Lambda's real handler against a real apiserver: it
 * starts the task's own document again through the start path every door shares (so Plan keeps the
 * task's label and names), refuses an unknown task (404) and a running one (409, by its execution or
 * by the lock it holds), and a second submit of an existing task points to it (409). Step Functions
 * and Secrets Manager are mocked at the SDK boundary; the task object is seeded as Prepare writes it.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  type ExecutionStatus,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { kubeFromKubeconfig } from '../../../lambdas/adapters/kube';
import { LOCK_LEASE_NAME, TASK_NAMESPACE, type TaskRef } from '../../../lambdas/domain/contracts';
import { lockLease } from '../../../lambdas/domain/lock-lease';
import { specDigest } from '../../../lambdas/domain/spec-digest';
import { taskObject } from '../../../lambdas/domain/task-object';
import { validateNodeTask } from '../../../lambdas/domain/node-task';
import { handler as tasksHandler } from '../../../lambdas/handlers/api-tasks';
import type { Kube } from '../../../lambdas/ports';
import { installNodeTaskCrd } from '../../../lambdas/use-cases/install-crd';
import { startControlPlane, type ControlPlane } from '../../../sandbox/control-plane';
import { productIdentity } from '../../../sandbox/product-identity';

vi.hoisted(() => {
  process.env.PENETRATOR_SECRET_PREFIX = 'penetrator/';
  process.env.PENETRATOR_STATE_MACHINE_ARN =
    'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
const CLUSTER = 'retry';
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
let kube: Kube;

function document(name: string, machines = ['198.18.80.10', '198.18.80.11']) {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: {
      nodeNamePrefix: 'rt',
      targetMachines: machines,
      sshCredential: 'login-secret',
      proxyNode: 'proxy-rt',
    },
  };
}

/** The task object a finished run leaves: its label, its names, the digest of its spec. */
async function seedTaskObject(doc: ReturnType<typeof document>, labelValue: string): Promise<void> {
  const validation = validateNodeTask(doc);
  if (!validation.ok) throw new Error(validation.problems.join('\n'));
  const task = {
    name: doc.metadata.name,
    cluster: CLUSTER,
    labelValue,
    mode: 'proxy',
    installer: 'edgeadm',
    credential: 'login-secret',
    sshUser: 'root',
    sshPort: 22,
    executionId: 'arn:earlier',
    maxAttempts: 3,
    attemptTimeoutSeconds: 600,
    pollSeconds: 10,
    specDigest: specDigest(validation.task.spec),
  } satisfies TaskRef;
  const assignment = Object.fromEntries(doc.spec.targetMachines.map((ip, i) => [`rt-${i}`, ip]));
  await kube.create(
    taskObject({ task, assignment, status: { nodetaskStatus: 'creating', nodeStatus: {} } }, ['proxy-rt']),
  );
}

function pastExecution(name: string, doc: unknown, status: ExecutionStatus): void {
  const arn = `arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:${CLUSTER}--${name}--aaaaaa`;
  executions.set(arn, {
    arn,
    name: `${CLUSTER}--${name}--aaaaaa`,
    status,
    startDate: new Date(Date.now() - 60_000),
    input: JSON.stringify({ nodeTask: doc, cluster: CLUSTER }),
  });
}

async function call(method: string, resource: string, name?: string, body?: string) {
  const event: APIGatewayProxyEvent = {
    httpMethod: method,
    resource,
    path: resource.replace('{name}', name ?? ''),
    pathParameters: name ? { name } : null,
    queryStringParameters: { cluster: CLUSTER },
    multiValueQueryStringParameters: null,
    headers: body ? { 'content-type': 'application/json' } : {},
    multiValueHeaders: {},
    body: body ?? null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { requestId: 'retry-1' } as APIGatewayProxyEvent['requestContext'],
  };
  const response = await tasksHandler(event);
  return { status: response.statusCode, body: JSON.parse(response.body || '{}') as Record<string, unknown> };
}

const retry = (name: string) => call('POST', '/tasks/{name}/retry', name);

function startedInputs(): Array<{ nodeTask: unknown; cluster: string }> {
  return sfn
    .commandCalls(StartExecutionCommand)
    .map((c) => JSON.parse(c.args[0].input.input ?? '{}') as { nodeTask: unknown; cluster: string });
}

function mockAws(): void {
  // Every credential is bound to the cluster (lambdas/domain/credential-bounds.ts).
  sm.on(DescribeSecretCommand).resolves({ Tags: [{ Key: 'penetrator:clusters', Value: CLUSTER }] });
  sm.on(ListSecretsCommand).resolves({ SecretList: [{ Name: `penetrator/clusters/${CLUSTER}` }] });
  // The product is given its ServiceAccount, bound only to the shipped RBAC.
  sm.on(GetSecretValueCommand).resolves({ SecretString: productKubeconfig });
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
    const e = executions.get(input.executionArn)!;
    return {
      executionArn: e.arn,
      stateMachineArn: MACHINE,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      input: e.input,
    };
  });
}

let productKubeconfig = '';

beforeAll(async () => {
  cp = await startControlPlane();
  kube = kubeFromKubeconfig(CLUSTER, cp.kubeconfigYaml);
  await installNodeTaskCrd(kube);
  productKubeconfig = (await productIdentity(cp)).kubeconfigYaml;
}, 240_000);

afterAll(async () => {
  await cp?.stop();
});

beforeEach(() => {
  sm.reset();
  sfn.reset();
  executions.clear();
  mockAws();
});

describe('POST /tasks/{name}/retry', () => {
  it('starts the task again with the document of its last execution, under a new execution name', async () => {
    const doc = document('partly');
    await seedTaskObject(doc, 'partly-k3x9qa');
    pastExecution('partly', doc, 'FAILED');

    const answer = await retry('partly');

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      name: 'partly',
      cluster: CLUSTER,
      statusUrl: `/tasks/partly?cluster=${CLUSTER}`,
    });
    expect(answer.body.executionArn).toMatch(new RegExp(`:${CLUSTER}--partly--[a-z0-9]{6}$`));
    expect(answer.body.executionArn).not.toContain('aaaaaa');
    // The same document, so Plan finds the task object's label and names (plan.ts previousRun).
    expect(startedInputs()).toEqual([{ nodeTask: doc, cluster: CLUSTER }]);
  });

  it('takes the NodeTask applied with kubectl when no execution holds the document any more', async () => {
    const doc = document('applied', ['198.18.80.20']);
    await kube.create({ ...doc, metadata: { name: 'applied' } } as never);
    await seedTaskObject(doc, 'applied-0fz7hd');

    const answer = await retry('applied');

    expect(answer.status).toBe(202);
    expect(startedInputs()).toEqual([{ nodeTask: doc, cluster: CLUSTER }]);
  });

  it('refuses a task without a task object with 404, and one whose document is gone with 404 naming -f', async () => {
    const unknown = await retry('never-ran');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe(`task never-ran has no record in cluster ${CLUSTER}: nothing to retry`);

    await seedTaskObject(document('forgotten'), 'forgotten-aaaaaa');
    const forgotten = await retry('forgotten');
    expect(forgotten.status).toBe(404);
    expect(forgotten.body.hint).toContain('-f FILE');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses a running task with 409, whether Step Functions or the lock says it runs', async () => {
    const doc = document('busy');
    await seedTaskObject(doc, 'busy-aaaaaa');
    pastExecution('busy', doc, 'RUNNING');
    const running = await retry('busy');
    expect(running.status).toBe(409);
    expect(running.body.message).toMatch(
      /^task busy is running in cluster retry \(execution retry--busy--aaaaaa\)/,
    );

    executions.clear();
    pastExecution('busy', doc, 'FAILED');
    await kube.create(
      lockLease({
        name: LOCK_LEASE_NAME,
        holder: `busy/${CLUSTER}--busy--bbbbbb`,
        durationSeconds: 300,
        now: new Date(),
      }),
    );
    try {
      const locked = await retry('busy');
      expect(locked.status).toBe(409);
      expect(locked.body.message).toBe(
        'task busy is running in cluster retry; only an ended task can be retried',
      );
    } finally {
      await kube.delete({ kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME });
    }
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers a second submit of an existing task with 409 pointing to the retry', async () => {
    const doc = document('again');
    await seedTaskObject(doc, 'again-aaaaaa');
    const again = await call('POST', '/tasks', undefined, JSON.stringify(doc));
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(
      `task again already exists in cluster ${CLUSTER}; a task cannot be updated`,
    );
    expect(again.body.hint).toContain('penetrator retry nodetask again (POST /tasks/again/retry)');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
