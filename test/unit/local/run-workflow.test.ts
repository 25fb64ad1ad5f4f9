import { beforeAll, describe, expect, it } from 'vitest';
import { causeMessage, runWorkflowLocally, type WorkflowEvent } from '../../../cli/local/run-workflow';
import { loadSynthesizedDefinition } from '../../../cli/local/definition';
import type {
  CheckOutput,
  CleanupInput,
  LambdaName,
  NodeStepInput,
  NodeWork,
  PlanOutput,
  SummarizeInput,
  TaskRef,
  TaskSummary,
  WorkflowHandler,
  WorkflowInput,
} from '../../../lambdas/domain/contracts';
import {
  ClusterBusyError,
  ClusterInfoInvalidError,
  ErrorNames,
  InstallFailedError,
  InstallRunningError,
  InvalidNodeTaskError,
  TransientError,
} from '../../../lambdas/errors';
import { StateNames } from '../../../statemachine/state-names';
import { readMapResults } from '../../../lambdas/use-cases/summarize';
import { writeWork } from '../../../lambdas/use-cases/work-store';
import type { NodeResult } from '../../../lambdas/domain/contracts';
import type { ObjectStore } from '../../../lambdas/ports';

/** The run's object store, in memory: what S3 holds in AWS and a directory in local runs. */
class MemoryObjects implements ObjectStore {
  readonly objects = new Map<string, string>();
  putJson(key: string, value: unknown): Promise<void> {
    this.objects.set(key, JSON.stringify(value));
    return Promise.resolve();
  }
  getJson(key: string): Promise<unknown> {
    const text = this.objects.get(key);
    return text === undefined
      ? Promise.reject(new Error(`no object ${key}`))
      : Promise.resolve(JSON.parse(text));
  }
}

// The handlers are plain functions standing in for the Lambdas' code: the workflow under test is
// the real synthesized definition, executed by aws-local-stepfunctions.

const input: WorkflowInput = { nodeTask: { metadata: { name: 'nodes' } }, cluster: 'edge' };

const nodes: NodeWork[] = [
  { name: 'edge-aaaaaa', ip: '198.18.1.10', proxyNode: 'proxy-0', reinstall: false },
  { name: 'edge-bbbbbb', ip: '198.18.1.11', proxyNode: 'proxy-0', reinstall: false },
  { name: 'edge-cccccc', ip: '198.18.1.12', proxyNode: 'proxy-0', reinstall: true },
];

async function planOutput(objects: ObjectStore, executionId: string): Promise<PlanOutput> {
  const task: TaskRef = {
    name: 'nodes',
    cluster: 'edge',
    labelValue: 'nodes-x1y2z3',
    mode: 'proxy',
    installer: 'edgeadm',
    credential: 'login-secret',
    sshUser: 'root',
    sshPort: 22,
    executionId,
    maxAttempts: 10,
    attemptTimeoutSeconds: 600,
    pollSeconds: 15,
  };
  return { task, work: await writeWork({ objects }, executionId, nodes, []), maxConcurrency: 2 };
}

function summarize(results: NodeResult[], skipped: number): TaskSummary {
  const failures = results
    .filter((r) => r.state === 'failed')
    .map((r) => ({ name: r.name, ip: r.ip, reason: causeMessage(r.reason) ?? '' }));
  return {
    nodetaskStatus: failures.length === 0 ? 'ready' : 'creating',
    nodeStatus: Object.fromEntries(failures.map((f) => [f.name, f.ip])),
    installed: results.length - failures.length,
    failed: failures.length,
    skipped,
    failures,
    message:
      failures.length === 0
        ? `${results.length} nodes installed`
        : `${failures.length} of ${results.length} nodes failed: ${failures.map((f) => `${f.name} (${f.reason})`).join(', ')}`,
  };
}

/** Handlers that record every call; `overrides` replaces some of them. */
function recordingHandlers(
  replace:
    | Partial<Record<LambdaName, WorkflowHandler>>
    | ((defaults: Record<LambdaName, WorkflowHandler>) => Partial<Record<LambdaName, WorkflowHandler>>) = {},
) {
  const objects = new MemoryObjects();
  const calls: Record<LambdaName, unknown[]> = {
    plan: [],
    lock: [],
    prepare: [],
    startInstall: [],
    checkInstall: [],
    summarize: [],
    cleanup: [],
  };
  const attempts = new Map<string, number>();
  const defaults: Record<LambdaName, WorkflowHandler> = {
    plan: (p) => planOutput(objects, (p as { executionId: string }).executionId),
    lock: () => Promise.resolve({ holder: 'me' }),
    prepare: (p) =>
      Promise.resolve({
        ...(p as { task: TaskRef }).task,
        ownerUid: 'uid-1',
        taskObject: 'penetrator-task-nodes',
      }),
    startInstall: (p) => {
      const { node } = p as NodeStepInput;
      const number = (attempts.get(node.name) ?? 0) + 1;
      attempts.set(node.name, number);
      return Promise.resolve({ job: `install-${node.name}-${number}`, number, waitSeconds: 1 });
    },
    checkInstall: () => Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] }),
    summarize: async (p) => {
      const { results, work } = p as SummarizeInput;
      return summarize(await readMapResults(objects, results), work.skipped);
    },
    cleanup: () => Promise.resolve(null),
  };
  const overrides = typeof replace === 'function' ? replace(defaults) : replace;
  const handlers = {} as Record<LambdaName, WorkflowHandler>;
  for (const name of Object.keys(defaults) as LambdaName[]) {
    const impl = overrides[name] ?? defaults[name];
    handlers[name] = async (payload) => {
      calls[name].push(structuredClone(payload));
      return impl(payload);
    };
  }
  /** The node results the Map wrote for the Summarize call `i`. */
  const resultsOf = (i = 0): Promise<NodeResult[]> =>
    readMapResults(objects, (calls.summarize[i] as SummarizeInput).results);
  return { handlers, calls, objects, resultsOf };
}

/** expect.objectContaining, typed so it can sit inside expected objects. */
const like = (shape: object): unknown => expect.objectContaining(shape);
const nodeOf = (payload: unknown): string => (payload as NodeStepInput).node.name;
const fast = { pollSeconds: 0, retryIntervalSeconds: 0 };

let definition: object;

beforeAll(async () => {
  definition = await loadSynthesizedDefinition();
}, 120_000);

// The first execution compiles asl-validator's schemas: seconds on a busy machine.
describe('runWorkflowLocally on the synthesized definition', { timeout: 60_000 }, () => {
  it('succeeds with the summary when every node installs, polling a running Job until it succeeds', async () => {
    const polls = new Map<string, number>();
    const { handlers, calls, objects, resultsOf } = recordingHandlers({
      checkInstall: (p) => {
        const name = nodeOf(p);
        const n = (polls.get(name) ?? 0) + 1;
        polls.set(name, n);
        if (name === 'edge-bbbbbb' && n < 3) return Promise.reject(new InstallRunningError('still running'));
        return Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] });
      },
    });
    const events: WorkflowEvent[] = [];
    const result = await runWorkflowLocally({
      definition,
      input,
      handlers,
      objects,
      executionName: 'all-good',
      ...fast,
      onEvent: (e) => events.push(e),
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      task: 'nodes',
      cluster: 'edge',
      summary: like({ installed: 3, failed: 0, nodetaskStatus: 'ready' }),
    });
    expect(calls.plan).toEqual([{ input, executionId: result.executionId }]);
    expect(result.executionId).toMatch(/:execution:[^:]+:all-good$/);
    expect(calls.lock).toEqual([{ action: 'acquire', task: like({ name: 'nodes' }) }]);
    // Every iteration sees the task as Prepare completed it, and its own node.
    expect(calls.startInstall.map(nodeOf).sort()).toEqual(nodes.map((n) => n.name));
    for (const payload of calls.startInstall) {
      expect((payload as NodeStepInput).task.ownerUid).toBe('uid-1');
    }
    expect(polls.get('edge-bbbbbb')).toBe(3);
    expect(calls.checkInstall.filter((p) => nodeOf(p) === 'edge-bbbbbb')).toContainEqual(
      like({ attempt: { job: 'install-edge-bbbbbb-1', number: 1, waitSeconds: 1 } }),
    );
    expect(await resultsOf()).toEqual(
      expect.arrayContaining(
        nodes.map((n) => ({ name: n.name, ip: n.ip, state: 'installed', replaced: [] })),
      ),
    );
    expect(calls.cleanup).toEqual([{ task: like({ name: 'nodes' }) }]);
    expect(events.some((e) => e.type === 'MapIterationStarted')).toBe(true);
    expect(result.transitions).toBe(
      events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length,
    );
    expect(result.transitions).toBeGreaterThan(20);
  });

  it("retries a failing node exactly up to the deployment's ceiling, records it and fails with NodesFailed", async () => {
    const { handlers, calls, objects, resultsOf } = recordingHandlers({
      checkInstall: (p) =>
        nodeOf(p) === 'edge-cccccc'
          ? Promise.reject(new InstallFailedError('join exited 1 on 198.18.1.12'))
          : Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] }),
    });
    const result = await runWorkflowLocally({ definition, input, handlers, objects, ...fast });

    const ceiling = attemptCeiling(definition);
    expect(ceiling).toBe(4);
    const tries = (list: unknown[], name: string) => list.filter((p) => nodeOf(p) === name).length;
    expect(tries(calls.startInstall, 'edge-cccccc')).toBe(ceiling + 1);
    expect(tries(calls.checkInstall, 'edge-cccccc')).toBe(ceiling + 1);
    expect(tries(calls.startInstall, 'edge-aaaaaa')).toBe(1);
    expect(tries(calls.startInstall, 'edge-bbbbbb')).toBe(1);

    const results = await resultsOf();
    const failed = results.find((r) => r.name === 'edge-cccccc');
    expect(failed).toMatchObject({ ip: '198.18.1.12', state: 'failed', error: ErrorNames.InstallFailed });
    expect(causeMessage(failed?.reason)).toBe('join exited 1 on 198.18.1.12');
    expect(results.filter((r) => r.state === 'installed')).toHaveLength(2);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(ErrorNames.NodesFailed);
    expect(result.cause).toContain('edge-cccccc');
    // The lock is released on the normal path even when nodes failed.
    expect(calls.cleanup).toEqual([{ task: like({ name: 'nodes' }) }]);
  });

  it('fails without taking the lock when Plan rejects the NodeTask', async () => {
    const { handlers, calls, objects } = recordingHandlers({
      plan: () =>
        Promise.reject(
          new InvalidNodeTaskError(['spec.targetMachines[0]: "300.1.1.1" is not an IP address']),
        ),
    });
    const result = await runWorkflowLocally({ definition, input, handlers, objects, ...fast });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(ErrorNames.InvalidNodeTask);
    expect(causeMessage(result.cause)).toContain('spec.targetMachines[0]');
    expect(calls.plan).toHaveLength(1);
    expect(calls.lock).toHaveLength(0);
    expect(calls.cleanup).toHaveLength(0);
  });

  it('cleans up once, then fails with the original error, when Prepare fails', async () => {
    const { handlers, calls, objects } = recordingHandlers({
      prepare: () =>
        Promise.reject(new ClusterInfoInvalidError('kube-public/cluster-info has no kubeconfig')),
    });
    const result = await runWorkflowLocally({ definition, input, handlers, objects, ...fast });

    expect(calls.cleanup).toHaveLength(1);
    const cleanup = calls.cleanup[0] as CleanupInput;
    expect(cleanup.task.name).toBe('nodes');
    expect(cleanup.error?.Error).toBe(ErrorNames.ClusterInfoInvalid);
    expect(calls.startInstall).toHaveLength(0);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(ErrorNames.ClusterInfoInvalid);
    expect(causeMessage(result.cause)).toBe('kube-public/cluster-info has no kubeconfig');
  });

  it('does not clean up when the cluster is busy: the lock belongs to another task', async () => {
    const { handlers, calls, objects } = recordingHandlers({
      lock: () => Promise.reject(new ClusterBusyError('edge', 'other-task')),
    });
    const result = await runWorkflowLocally({ definition, input, handlers, objects, ...fast });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(ErrorNames.ClusterBusy);
    expect(causeMessage(result.cause)).toContain('other-task');
    expect(calls.cleanup).toHaveLength(0);
    expect(calls.prepare).toHaveLength(0);
  });

  it('retries a transient Lambda error in place and goes on', async () => {
    let failures = 1;
    const { handlers, calls, objects } = recordingHandlers((defaults) => ({
      summarize: (p) =>
        failures-- > 0 ? Promise.reject(new TransientError('apiserver: 503')) : defaults.summarize(p),
    }));
    const result = await runWorkflowLocally({ definition, input, handlers, objects, ...fast });
    const fresh = recordingHandlers();
    const clean = await runWorkflowLocally({
      definition,
      input,
      handlers: fresh.handlers,
      objects: fresh.objects,
      ...fast,
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(calls.summarize).toHaveLength(2);
    // A retry is one more state transition, as Step Functions counts them.
    expect(result.transitions).toBe(clean.transitions + 1);
  });

  it('stops when the signal aborts it', async () => {
    const controller = new AbortController();
    const { handlers, calls, objects } = recordingHandlers({
      checkInstall: () => {
        controller.abort();
        return Promise.reject(new InstallRunningError('still running'));
      },
    });
    const result = await runWorkflowLocally({
      definition,
      input,
      handlers,
      objects,
      pollSeconds: 0.05,
      signal: controller.signal,
    });

    expect(result.status).toBe('ABORTED');
    expect(calls.summarize).toHaveLength(0);
  });

  it('refuses a definition whose Task states have no handler', async () => {
    const { handlers, objects } = recordingHandlers();
    const partial: Partial<typeof handlers> = { ...handlers };
    delete partial.summarize;
    await expect(
      runWorkflowLocally({ definition, input, handlers: partial as typeof handlers, objects }),
    ).rejects.toThrow(/no handler for Task state "Summarize task"/);
  });
});

function attemptCeiling(def: object): number {
  const map = (
    def as {
      States: Record<
        string,
        { ItemProcessor: { States: Record<string, { Retry: Array<{ MaxAttempts: number }> }> } }
      >;
    }
  ).States[StateNames.installNodes]!;
  return map.ItemProcessor.States[StateNames.installNode]!.Retry[0]!.MaxAttempts;
}
