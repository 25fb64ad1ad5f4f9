/**
 * The NodeTask custom resource is the task object, checked with the real kubectl and the
 * original's documented commands: a NodeTask applied with `kubectl apply -f` is adopted by the run
 * of that document, its status is current while the run goes on and after it, everything the run
 * created is owned through it, and `kubectl delete nt` leaves nothing of the task behind. A task
 * submitted without one gets a NodeTask written by the product.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { kubectl } from '../../sandbox/kubectl';

const PASSWORD = 'nt-root-pw';
/** Addresses of this file only, so it runs beside the other integration files. */
const SUBNET = '172.21.12.0/24';
const PROXY = 'nt-proxy';
const GOOD = '172.21.12.10';
const REFUSING = '172.21.12.11';
const OTHER = '172.21.12.12';

/** As the original's guide writes it, with the product's maxAttempts extension to keep the run short. */
const APPLIED = `apiVersion: nodetask.apps.superedge.io/v1beta1
kind: NodeTask
metadata:
  name: ktl-nodes
spec:
  nodeNamePrefix: "ktl"
  targetMachines:
    - ${GOOD}
    - ${REFUSING}
  sshCredential: login-secret
  proxyNode: ${PROXY}
  maxAttempts: 1
`;

let env: TestEnvironment;
let definition: object;
let workDir: string;
let credentialPath: string;
let manifestPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
const runtimes = new LocalRuntimes();

async function run(document: unknown): Promise<WorkflowRunResult> {
  const runtime = await runtimes.open({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  try {
    return await runWorkflowLocally({
      definition,
      input: { nodeTask: document },
      handlers: runtime.handlers,
      objects: runtime.objects,
      pollSeconds: 0.5,
      retryIntervalSeconds: 0.5,
    });
  } finally {
    runtime.close();
  }
}

/** kubectl against the sandbox; fails the test with kubectl's own words when it exits non-zero. */
async function k(...args: string[]): Promise<string> {
  const result = await kubectl(env.cp.kubeconfigPath, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

interface NodeTaskJson {
  metadata: { uid: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    nodetaskStatus?: string;
    nodeStatus?: Record<string, string>;
    installed?: number;
    failed?: number;
    total?: number;
    nodes?: Record<string, { ip: string; state: string; attempts?: number; reason?: string }>;
    conditions?: Array<{ type: string; status: string }>;
  };
}

async function nodeTaskJson(name: string): Promise<NodeTaskJson> {
  return JSON.parse(await k('get', 'nt', name, '-o', 'json')) as NodeTaskJson;
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [
          { ip: GOOD, password: PASSWORD },
          { ip: REFUSING, password: PASSWORD, refuseLogin: true },
          { ip: OTHER, password: PASSWORD },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-nodetask-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  manifestPath = join(workDir, 'nodetask.yaml');
  writeFileSync(manifestPath, APPLIED);
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  definition = await runtimes.definition();
});

afterAll(async () => {
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the NodeTask is the task object, seen with kubectl', () => {
  it('adopts the NodeTask applied with kubectl and keeps its status current while the run goes on and after', async () => {
    expect(await k('apply', '-f', manifestPath)).toBe(
      'nodetask.nodetask.apps.superedge.io/ktl-nodes created\n',
    );
    const applied = await nodeTaskJson('ktl-nodes');
    expect(applied.status).toBeUndefined();

    const running = run(parseYaml(APPLIED));
    let settled = false;
    void running.finally(() => (settled = true));
    // While the run goes on (bounded wait), the original's status column reads "creating".
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    while (!settled && Date.now() < deadline) {
      seen.push(await k('get', 'nt', 'ktl-nodes', '-o', 'custom-columns=STATUS:status.nodetaskStatus'));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(seen).toContain('STATUS\ncreating\n');
    const result = await running;

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Penetrator.NodesFailed');
    const after = await nodeTaskJson('ktl-nodes');
    // The same object: adopted, not replaced.
    expect(after.metadata.uid).toBe(applied.metadata.uid);
    expect(after.spec).toEqual(applied.spec);
    const entries = Object.entries(after.status?.nodes ?? {});
    const good = entries.find(([, d]) => d.ip === GOOD)!;
    const refusing = entries.find(([, d]) => d.ip === REFUSING)!;
    expect(good[1]).toMatchObject({ state: 'installed', attempts: 1 });
    expect(refusing[1]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(refusing[1].reason).toMatch(/permission denied/i);
    expect(after.status).toMatchObject({
      nodetaskStatus: 'creating',
      nodeStatus: { [refusing[0]]: REFUSING },
      installed: 1,
      failed: 1,
      total: 2,
    });
    expect(after.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Running', status: 'False' }),
        expect.objectContaining({ type: 'Ready', status: 'False' }),
      ]),
    );

    expect(await k('get', 'nt', 'ktl-nodes', '-o', 'custom-columns=STATUS:status.nodetaskStatus')).toBe(
      'STATUS\ncreating\n',
    );
    const table = await k('get', 'nt');
    expect(table).toMatch(/^NAME\s+STATUS\s+INSTALLED\s+FAILED\s+TOTAL\s+AGE\n/);
    expect(table).toMatch(/\nktl-nodes\s+creating\s+1\s+1\s+2\s+\S+\n/);
    const labelled = await k('get', 'nodes', '--show-labels');
    expect(labelled).toMatch(new RegExp(`\\n${good[0]}\\s.*${NODE_TASK_LABEL}=ktl-nodes-[a-z0-9]{6}`));
    expect(await k('-n', 'edge-system', 'get', 'event')).toContain('NodeInstalled');
    const described = await k('describe', 'nt', 'ktl-nodes');
    expect(described).toMatch(/Nodetask Status:\s+creating/);
    expect(described).toContain(REFUSING);
  });

  it('owns what the run left through the NodeTask, and kubectl delete nt removes it all', async () => {
    const uid = (await nodeTaskJson('ktl-nodes')).metadata.uid;
    const record = await core.readNamespacedConfigMap({
      name: 'penetrator-task-ktl-nodes',
      namespace: TASK_NAMESPACE,
    });
    expect(record.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'NodeTask', name: 'ktl-nodes', uid }),
    ]);
    const selector = 'penetrator.superedge.io/task=ktl-nodes';
    expect(
      (await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector })).items.length,
    ).toBeGreaterThan(0);

    // Foreground: kubectl returns once the garbage collector has deleted every dependent.
    await k('delete', 'nt', 'ktl-nodes', '--cascade=foreground', '--timeout=60s');

    expect(await k('get', 'nt', '-o', 'name')).not.toContain('ktl-nodes');
    expect(
      (await batch.listNamespacedJob({ namespace: TASK_NAMESPACE, labelSelector: selector })).items,
    ).toEqual([]);
    const configMaps = await core.listNamespacedConfigMap({
      namespace: TASK_NAMESPACE,
      labelSelector: selector,
    });
    expect(configMaps.items).toEqual([]);
    const secrets = await core.listNamespacedSecret({ namespace: TASK_NAMESPACE, labelSelector: selector });
    expect(secrets.items).toEqual([]);
    // The Node the task installed is the cluster's now: deleting the task does not remove it.
    expect(await k('get', 'nodes', '-o', 'wide')).toContain(GOOD);
  });

  it('writes a NodeTask for a task submitted without one, naming its machines as the run named them', async () => {
    const result = await run({
      apiVersion: 'nodetask.apps.superedge.io/v1beta1',
      kind: 'NodeTask',
      metadata: { name: 'api-nodes' },
      spec: {
        nodeNamePrefix: 'api',
        targetMachines: [OTHER],
        sshCredential: 'login-secret',
        proxyNode: PROXY,
      },
    });

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const written = await nodeTaskJson('api-nodes');
    const [name] = Object.keys(written.status?.nodes ?? {});
    expect(name).toMatch(/^api-[a-z0-9]{6}$/);
    expect(written.spec).toEqual({
      nodeNamesOverride: { [name!]: OTHER },
      sshCredential: 'login-secret',
      sshPort: 22,
      proxyNode: PROXY,
    });
    expect(written.status).toMatchObject({
      nodetaskStatus: 'ready',
      nodeStatus: {},
      installed: 1,
      failed: 0,
      total: 1,
    });
    expect(await k('get', 'nt', 'api-nodes', '-o', 'custom-columns=STATUS:status.nodetaskStatus')).toBe(
      'STATUS\nready\n',
    );
  });
});
