import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalRuntime, LocalRuntimes } from '../../../cli/local/local-runtime';
import { sharedAssembly } from '../../support/shared-assembly';
import { runWorkflowLocally, type WorkflowRunResult } from '../../../cli/local/run-workflow';
import { EventBridgePublisher } from '../../../lambdas/adapters/event-bus';
import { FileCredentials } from '../../../lambdas/adapters/file-credentials';
import { SingleClusterDirectory } from '../../../lambdas/adapters/file-clusters';
import { cachedKubeProvider } from '../../../lambdas/adapters/kube-cache';
import type { ExecutionStatus, Workflow } from '../../../lambdas/ports';
import {
  LOCK_LEASE_NAME,
  NODE_TASK_LABEL,
  TASK_NAMESPACE,
  type WorkflowInput,
} from '../../../lambdas/domain/contracts';
import { asLog, createLogger } from '../../../lambdas/observability';
import type { Dependencies } from '../../../lambdas/ports';
import { resolveSettings } from '../../../lambdas/settings';
import { executionEnded } from '../../../lambdas/use-cases/execution-ended';
import { reinstall } from '../../../lambdas/use-cases/reinstall';
import { summarize } from '../../../lambdas/use-cases/summarize';
import { startTestEnvironment, type TestEnvironment } from '../../../sandbox/env';

/**
 * The "Reinstall Nodes" event end to end: the same use-case the rule's Lambda runs, with a Workflow
 * port that runs the synthesized definition locally instead of StartExecution, against a real
 * control plane and real sshd machines behind a proxy node. Then an execution aborted mid-task is
 * cleaned up by the execution-ended use-case, as the status-change rule would have it.
 */

const PASSWORD = 'edge-root-pw';
/** EventBridge is AWS: mocked at the SDK boundary, so the completion event's exact request is seen. */
const eventBridge = mockClient(EventBridgeClient);
const publisher = new EventBridgePublisher('penetrator', new EventBridgeClient({}));
const CLUSTER = 'local';

let env: TestEnvironment;
let definition: object;
const runtimes = new LocalRuntimes({}, sharedAssembly);
let workflowRuntime: LocalRuntime;
let workDir: string;
let credentialPath: string;
let core: CoreV1Api;
let coordination: CoordinationV1Api;
let deps: Dependencies;

/** Executions started through the port, run locally; each is awaited by the test that started it. */
const runs = new Map<
  string,
  { input: WorkflowInput; result: Promise<WorkflowRunResult>; status: ExecutionStatus; startDate: string }
>();

function track(executionName: string, input: WorkflowInput, result: Promise<WorkflowRunResult>): void {
  const entry = { input, result, status: 'RUNNING' as ExecutionStatus, startDate: new Date().toISOString() };
  runs.set(executionName, entry);
  void result.then((r) => {
    entry.status = r.status === 'SUCCEEDED' ? 'SUCCEEDED' : r.status === 'ABORTED' ? 'ABORTED' : 'FAILED';
  });
}

function run(input: WorkflowInput, executionName: string, signal?: AbortSignal): Promise<WorkflowRunResult> {
  const handlers = {
    ...workflowRuntime.handlers,
    // Summarize in-process, with the bus Lambda's stack gives it (mocked here): it publishes the
    // completion event this file checks. A local bundle has no bus; every other state runs its bundle.
    summarize: (payload: unknown) =>
      summarize({ ...deps, events: publisher, objects: workflowRuntime.objects }, payload),
  };
  return runWorkflowLocally({
    definition,
    input,
    handlers,
    objects: workflowRuntime.objects,
    executionName,
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
    ...(signal ? { signal } : {}),
  });
}

const arnOf = (name: string) => `arn:aws:states:local:000000000000:execution:penetrator:${name}`;

/** Step Functions as the event Lambda sees it, over the local runs: start, list by prefix, describe. */
const localWorkflow: Pick<Workflow, 'start' | 'list' | 'describe'> = {
  start(executionName, input) {
    if (runs.has(executionName)) return Promise.resolve({ outcome: 'conflict' });
    track(executionName, input, run(input, executionName));
    return Promise.resolve({
      outcome: 'started',
      arn: arnOf(executionName),
      startDate: new Date().toISOString(),
    });
  },
  list(query = {}) {
    const found = [...runs.entries()]
      .filter(
        ([name, r]) =>
          name.startsWith(query.namePrefix ?? '') && (!query.status || r.status === query.status),
      )
      .map(([name, r]) => ({ arn: arnOf(name), name, status: r.status, startDate: r.startDate }));
    return Promise.resolve(found.reverse());
  },
  describe(executionArn) {
    const name = executionArn.split(':').pop()!;
    const found = runs.get(name);
    return Promise.resolve(
      found && {
        arn: executionArn,
        name,
        status: found.status,
        startDate: found.startDate,
        input: found.input,
      },
    );
  },
};

async function nodesOf(): Promise<V1Node[]> {
  return (await core.listNode()).items.filter((n) => !env.proxyNodes.includes(n.metadata?.name ?? ''));
}

const internalIp = (node: V1Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode: env.proxyNodes[0], ...spec },
  };
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        machines: [{ password: PASSWORD }, { password: PASSWORD }, { password: PASSWORD, refuseLogin: true }],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-events-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  workflowRuntime = await runtimes.open({
    kubeconfigYaml: env.product.kubeconfigYaml,
    clusterName: CLUSTER,
    credentialPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  definition = workflowRuntime.definition;
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  const clusters = new SingleClusterDirectory(env.product.kubeconfigYaml, CLUSTER);
  deps = {
    settings: resolveSettings({ defaultCluster: CLUSTER }),
    clusters,
    credentials: new FileCredentials(credentialPath),
    kube: cachedKubeProvider(clusters),
    installScript: () => Promise.reject(new Error('not used by the event use-cases')),
    log: asLog(createLogger('SILENT')),
  };
});

afterAll(async () => {
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('Reinstall Nodes events against a real cluster', () => {
  it('reinstalls the nodes an event names, through the proxy their previous task used', async () => {
    const [first, second] = env.network.sites[0]!.machines;
    const installed = await run(
      { nodeTask: nodeTask('fleet', { nodeNamePrefix: 'edge', targetMachines: [first!.ip, second!.ip] }) },
      'fleet-run',
    );
    expect(installed.status, `${installed.error}: ${installed.cause}`).toBe('SUCCEEDED');
    const before = await nodesOf();
    const target = before.find((n) => internalIp(n) === first!.ip)!;
    const bystander = before.find((n) => internalIp(n) === second!.ip)!;

    const output = await reinstall(
      { ...deps, workflow: localWorkflow },
      {
        id: 'e2e-reinstall-1',
        source: 'penetrator',
        'detail-type': 'Reinstall Nodes',
        detail: { cluster: CLUSTER, nodes: [target.metadata!.name], sshCredential: 'login-secret' },
      },
    );

    expect(output).toMatchObject({
      machines: { [target.metadata!.name!]: first!.ip },
      proxyNode: env.proxyNodes[0],
    });
    const result = await runs.get(output.executionName)!.result;
    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const after = await nodesOf();
    const replaced = after.find((n) => n.metadata?.name === target.metadata?.name)!;
    expect(internalIp(replaced)).toBe(first!.ip);
    // Under its own name the machine is joined again over its Node, as a kubelet re-registers; the
    // new label is only set once that join succeeded.
    expect(replaced.metadata?.uid).toBe(target.metadata?.uid);
    expect(replaced.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(new RegExp(`^${output.task}-[a-z0-9]{6}$`));
    expect(eventBridge).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'penetrator',
          Source: 'penetrator',
          DetailType: 'Task Succeeded',
          Detail: JSON.stringify({
            task: output.task,
            cluster: CLUSTER,
            installed: 1,
            failed: 0,
            failures: [],
            executionArn: arnOf(output.executionName),
          }),
        },
      ],
    });
    const untouched = after.find((n) => n.metadata?.name === bystander.metadata?.name)!;
    expect(untouched.metadata?.uid).toBe(bystander.metadata?.uid);
    expect(untouched.metadata?.labels?.[NODE_TASK_LABEL]).toBe(bystander.metadata?.labels?.[NODE_TASK_LABEL]);
  });

  it('refuses an event naming a node the cluster does not have, and starts nothing', async () => {
    const started = runs.size;
    const existing = (await nodesOf())[0]!.metadata!.name!;
    await expect(
      reinstall(
        { ...deps, workflow: localWorkflow },
        {
          id: 'e2e-reinstall-2',
          detail: { cluster: CLUSTER, nodes: [existing, 'edge-nosuch'], sshCredential: 'login-secret' },
        },
      ),
    ).rejects.toMatchObject({
      name: 'Penetrator.ReinstallRefused',
      problems: [`detail.nodes: node edge-nosuch not found in cluster ${CLUSTER}`],
    });
    expect(runs.size).toBe(started);
  });

  it('cleans up after an execution aborted mid-task: no credential Secret, no lock', async () => {
    const refusing = env.network.sites[0]!.machines[2]!;
    const input: WorkflowInput = {
      nodeTask: nodeTask('stuck', { nodeNamePrefix: 'stuck', targetMachines: [refusing.ip], maxAttempts: 5 }),
    };
    const abort = new AbortController();
    const name = 'stuck-run';
    track(name, input, run(input, name, abort.signal));
    // Bounded wait until the task holds the lock and its credential Secret exists.
    await vi.waitFor(
      async () => {
        const lease = await coordination
          .readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE })
          .catch(() => undefined);
        const secret = await core
          .readNamespacedSecret({ name: 'penetrator-credential-stuck', namespace: TASK_NAMESPACE })
          .catch(() => undefined);
        if (lease?.spec?.holderIdentity !== `stuck/${name}` || !secret) {
          throw new Error('the task never took the lock and projected its credential');
        }
      },
      { timeout: 60_000, interval: 200 },
    );
    abort.abort();
    expect((await runs.get(name)!.result).status).toBe('ABORTED');

    const event = { detail: { executionArn: arnOf(name), status: 'ABORTED' } };
    const ended = await executionEnded({ ...deps, workflow: localWorkflow }, event);

    expect(ended).toEqual({
      outcome: 'cleaned-up',
      task: 'stuck',
      cluster: CLUSTER,
      credentialSecret: 'deleted',
      bootstrapToken: 'deleted',
      lock: 'released',
    });
    await expect(
      core.readNamespacedSecret({ name: 'penetrator-credential-stuck', namespace: TASK_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    await expect(
      coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
    ).rejects.toMatchObject({ code: 404 });
    const events = await core.listNamespacedEvent({
      namespace: TASK_NAMESPACE,
      fieldSelector: 'involvedObject.name=penetrator-task-stuck',
    });
    expect(events.items.map((e) => e.message)).toContainEqual(
      expect.stringContaining('task stuck aborted: States.Aborted'),
    );
    // A second delivery (or a FAILED execution that cleaned up itself) finds nothing left to do.
    expect(await executionEnded({ ...deps, workflow: localWorkflow }, event)).toMatchObject({
      credentialSecret: 'absent',
      bootstrapToken: 'absent',
      lock: 'not-held',
    });
  });
});
