/**
 * The largest task the workflow accepts, every node failing with the longest reason anything could
 * produce: the real definition and the real Plan, lock, Prepare, Summarize and cleanup against a real
 * control plane, and a per-node step that fails at once (through the handlers' own error wrapper) so
 * the run stays fast. The execution still ends with a summary, an Event per node and a clean release.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally, type WorkflowEvent } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import {
  LOCK_LEASE_NAME,
  TASK_NAMESPACE,
  type LambdaName,
  type SummarizeInput,
  type TaskSummary,
  type WorkflowHandler,
} from '../../lambdas/domain/contracts';
import { credentialSecretName } from '../../lambdas/domain/job-names';
import type { SecretObject } from '../../lambdas/domain/kube-types';
import { MAX_MACHINES } from '../../lambdas/domain/node-task-schema';
import { MAX_REASON_LENGTH } from '../../lambdas/domain/summary';
import { AttemptsExhaustedError, ErrorNames } from '../../lambdas/errors';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import { createLogger, logged } from '../../lambdas/observability';
import type { Kube } from '../../lambdas/ports';
import { readMapResults } from '../../lambdas/use-cases/summarize';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';
import { productIdentity } from '../../sandbox/product-identity';
import { startTestKubelet, type TestKubelet } from '../../sandbox/kubelet';

const PROXY = 'bounded-proxy';
const STATE_LIMIT = 256 * 1024;
const TOKEN_LIKE = 'abcdef.0123456789abcdef';

/** What a failing tool could pour into an error: pages of output, a stack, a token it echoed. */
function longestFailure(ip: string): Error {
  const output = Array.from({ length: 400 }, (_, i) => `line ${i}: ssh ${ip} said something long`).join('\n');
  const error = new AttemptsExhaustedError(`node at ${ip}: join failed with token ${TOKEN_LIKE}\n${output}`);
  error.stack = `${error.name}: ${error.message}\n${'    at somewhere (file.js:1:1)\n'.repeat(200)}`;
  return error;
}

/** Every NodeInstallFailed Event, page by page, read with the cluster's own client. */
async function nodeFailureEvents(): Promise<CoreV1Event[]> {
  const config = new KubeConfig();
  config.loadFromString(cp.kubeconfigYaml);
  const core = config.makeApiClient(CoreV1Api);
  const events: CoreV1Event[] = [];
  let token: string | undefined;
  do {
    const page = await core.listNamespacedEvent({
      namespace: TASK_NAMESPACE,
      fieldSelector: 'reason=NodeInstallFailed',
      limit: 2000,
      ...(token ? { _continue: token } : {}),
    });
    events.push(...page.items);
    token = page.metadata?._continue;
  } while (token);
  return events;
}

let cp: ControlPlane;
let kubelet: TestKubelet;
let kube: Kube;
let dir: string;
let definition: object;

beforeAll(async () => {
  cp = await startControlPlane();
  kubelet = await startTestKubelet(cp, { nodes: [{ name: PROXY }] });
  kube = kubeFromKubeconfig('bounded', cp.kubeconfigYaml);
  dir = mkdtempSync(join(tmpdir(), 'penetrator-bounded-'));
  writeFileSync(join(dir, 'credential.yaml'), 'passwd: never-in-a-result\n', { mode: 0o600 });
  definition = await loadSynthesizedDefinition();
}, 300_000);

afterAll(async () => {
  await kubelet?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the largest task, every node failing with the longest reason', () => {
  it('ends with a bounded summary, an Event per node and a clean release', { timeout: 600_000 }, async () => {
    const objectsPath = join(dir, 'objects');
    const objects = new FileObjectStore(objectsPath);
    const real = createLocalHandlers({
      kubeconfigYaml: (await productIdentity(cp)).kubeconfigYaml,
      clusterName: 'bounded',
      credentialPath: join(dir, 'credential.yaml'),
      objectsPath,
      settings: { taskDeadlineSeconds: 3600, lockLeaseSeconds: 300 },
    });
    const quiet = createLogger('SILENT');
    let summary: TaskSummary | undefined;
    let nodeResults: Awaited<ReturnType<typeof readMapResults>> = [];
    const handlers: Record<LambdaName, WorkflowHandler> = {
      ...real,
      // Fails at once, as a node whose attempts are spent; the handlers' wrapper bounds what leaves it.
      startInstall: (payload) =>
        logged(quiet, 'startInstall', payload, () =>
          Promise.reject(longestFailure((payload as { node: { ip: string } }).node.ip)),
        ),
      summarize: async (payload) => {
        nodeResults = await readMapResults(objects, (payload as SummarizeInput).results);
        summary = (await real.summarize(payload)) as TaskSummary;
        return summary;
      },
    };
    const targets = Array.from({ length: MAX_MACHINES }, (_, i) => `10.77.${i >> 8}.${i & 255}`);
    let largestParentState = 0;
    const measure = (event: WorkflowEvent): void => {
      if ('index' in event && typeof event.index === 'number') return;
      const state = (event as { state?: { input?: unknown; output?: unknown } }).state;
      for (const value of [state?.input, state?.output]) {
        if (value !== undefined)
          largestParentState = Math.max(largestParentState, JSON.stringify(value).length);
      }
    };

    const result = await runWorkflowLocally({
      definition,
      input: {
        nodeTask: {
          apiVersion: 'nodetask.apps.superedge.io/v1beta1',
          kind: 'NodeTask',
          metadata: { name: 'bounded' },
          spec: {
            nodeNamePrefix: 'b',
            targetMachines: targets,
            sshCredential: 'login',
            proxyNode: PROXY,
            maxConcurrency: 1000,
          },
        },
      },
      handlers,
      objects,
      pollSeconds: 0,
      retryIntervalSeconds: 0,
      onEvent: measure,
    });

    // The task failed as a task, with its summary: not with a payload error no Catch can see.
    expect(result).toMatchObject({ status: 'FAILED', error: ErrorNames.NodesFailed });
    expect(result.cause).toMatch(new RegExp(`^${MAX_MACHINES} of ${MAX_MACHINES} nodes failed: `));
    expect(result.cause!.length).toBeLessThan(2000);
    expect(summary).toMatchObject({ installed: 0, failed: MAX_MACHINES, failuresOmitted: MAX_MACHINES - 50 });
    // The largest state is Plan's input, the document itself; what the task adds stays small.
    expect(largestParentState).toBeLessThan(STATE_LIMIT);
    expect(JSON.stringify(summary).length).toBeLessThan(32 * 1024);

    // Each node's reason left its Lambda as one line within the bound, without the token or a stack.
    expect(nodeResults).toHaveLength(MAX_MACHINES);
    for (const r of nodeResults) {
      const cause = JSON.parse(r.reason!) as { errorMessage: string };
      expect(r.error).toBe(ErrorNames.AttemptsExhausted);
      expect([...cause.errorMessage].length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
      expect(cause.errorMessage).not.toMatch(/\n|abcdef\.0123456789abcdef|at somewhere/);
    }

    // An Event per node, in the task's namespace, and the task object's status naming every node.
    const failed = await nodeFailureEvents();
    expect(failed).toHaveLength(MAX_MACHINES);
    expect(failed.every((e) => !e.message!.includes(TOKEN_LIKE))).toBe(true);

    // Released: no lock, no credential Secret, no bootstrap token.
    expect(
      await kube.get({ kind: 'Lease', namespace: TASK_NAMESPACE, name: LOCK_LEASE_NAME }),
    ).toBeUndefined();
    expect(
      await kube.get({ kind: 'Secret', namespace: TASK_NAMESPACE, name: credentialSecretName('bounded') }),
    ).toBeUndefined();
    const tokens = await kube.list<SecretObject>({ kind: 'Secret', namespace: 'kube-system' });
    expect(tokens.filter((s) => s.metadata.name.startsWith('bootstrap-token-'))).toEqual([]);
  });
});
