import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { LOCK_LEASE_NAME, NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { CONTROL_PLANE_LABELS, SITE_ANNOTATION } from '../../lambdas/domain/ownership';
import { ErrorNames } from '../../lambdas/errors';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';

/**
 * Which machines a task may touch, on the real cluster: two edge sites behind NAT on the SAME
 * private subnet (each with its own proxy node), real sshd machines, the synthesized workflow.
 * "Harmed" is checked from the machine's side too: a machine that was reset loses its join state.
 */

const PASSWORD = 'edge-root-pw';
const SUBNET = '172.21.5.0/24';
const SHARED_IP = '172.21.5.10';
const A_SECOND = '172.21.5.11';
const B_SECOND = '172.21.5.12';
const PROXY_A = 'proxy-a';
const PROXY_B = 'proxy-b';
const PROXY_ADDRESS = '172.21.5.2';

let env: TestEnvironment;
let definition: object;
let workDir: string;
let credentialPath: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let coordination: CoordinationV1Api;

function nodeTask(name: string, proxyNode: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', proxyNode, maxAttempts: 1, ...spec },
  };
}

async function run(document: unknown, credential = credentialPath): Promise<WorkflowRunResult> {
  const objectsPath = mkdtempSync(join(workDir, 'objects-'));
  const handlers = createLocalHandlers({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath: credential,
    objectsPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  try {
    return await runWorkflowLocally({
      definition,
      input: { nodeTask: document },
      handlers,
      objects: new FileObjectStore(objectsPath),
      pollSeconds: 0.5,
      retryIntervalSeconds: 0.5,
    });
  } finally {
    rmSync(objectsPath, { recursive: true, force: true });
  }
}

function internalIp(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

async function edgeNodes(): Promise<V1Node[]> {
  return (await core.listNode()).items.filter((n) => ![PROXY_A, PROXY_B].includes(n.metadata?.name ?? ''));
}

/** Each Node by name with its uid: a deleted and re-created Node gets a new uid. */
async function nodeUids(): Promise<Record<string, string>> {
  const all = (await core.listNode()).items;
  return Object.fromEntries(all.map((n) => [n.metadata!.name!, n.metadata!.uid!]));
}

async function jobCount(): Promise<number> {
  return (await batch.listNamespacedJob({ namespace: TASK_NAMESPACE })).items.length;
}

/** The stand-in join's state on the machine: reset removes it, a join rewrites it. */
function joinState(machine: EdgeMachine): string {
  return readFileSync(join(machine.stateDir, 'stand-in-join.json'), 'utf8');
}

function machine(site: number, ip: string): EdgeMachine {
  return env.network.sites[site]!.machines.find((m) => m.ip === ip)!;
}

async function nodeAt(ip: string, site: string): Promise<V1Node> {
  const found = (await edgeNodes()).filter(
    (n) => internalIp(n) === ip && n.metadata?.annotations?.[SITE_ANNOTATION] === site,
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

async function expectLockFree(): Promise<void> {
  await expect(
    coordination.readNamespacedLease({ name: LOCK_LEASE_NAME, namespace: TASK_NAMESPACE }),
  ).rejects.toMatchObject({ code: 404 });
}

/** Runs a task that must be refused: checks nothing was deleted, reset, created or locked; returns the cause. */
async function refusal(document: unknown): Promise<string> {
  const uids = await nodeUids();
  const jobs = await jobCount();
  const states = env.network.sites.flatMap((s) => s.machines).map((m) => [m, safeJoinState(m)] as const);

  const result = await run(document);

  expect(result.status).toBe('FAILED');
  expect(result.error).toBe(ErrorNames.TargetRefused);
  expect(await nodeUids()).toEqual(uids);
  expect(await jobCount()).toBe(jobs);
  for (const [m, state] of states) expect(safeJoinState(m)).toBe(state);
  await expectLockFree();
  return result.cause ?? '';
}

function safeJoinState(m: EdgeMachine): string | undefined {
  try {
    return joinState(m);
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY_A,
        machines: [
          { ip: SHARED_IP, password: PASSWORD },
          { ip: A_SECOND, password: PASSWORD },
        ],
      },
      {
        subnet: SUBNET,
        proxyNode: PROXY_B,
        machines: [
          { ip: SHARED_IP, password: PASSWORD },
          { ip: B_SECOND, password: PASSWORD },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-ownership-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
  definition = await loadSynthesizedDefinition();
});

afterAll(async () => {
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('ownership before any deletion, on two sites sharing one subnet', () => {
  it('installs site A, recording the site on every Node', async () => {
    const result = await run(
      nodeTask('site-a', PROXY_A, { nodeNamePrefix: 'a', targetMachines: [SHARED_IP, A_SECOND] }),
    );

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const nodes = await edgeNodes();
    expect(nodes.map(internalIp).sort()).toEqual([SHARED_IP, A_SECOND]);
    for (const n of nodes) expect(n.metadata?.annotations?.[SITE_ANNOTATION]).toBe(PROXY_A);
    await expectLockFree();
  });

  it('installs the machine with the same address at site B and leaves site A’s Node and machine untouched', async () => {
    const siteA = await nodeAt(SHARED_IP, PROXY_A);
    const siteAState = joinState(machine(0, SHARED_IP));

    const result = await run(
      nodeTask('site-b', PROXY_B, { nodeNamePrefix: 'b', targetMachines: [SHARED_IP] }),
    );

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const stillA = await nodeAt(SHARED_IP, PROXY_A);
    expect(stillA.metadata?.uid).toBe(siteA.metadata?.uid);
    expect(stillA.metadata?.labels?.[NODE_TASK_LABEL]).toBe(siteA.metadata?.labels?.[NODE_TASK_LABEL]);
    expect(joinState(machine(0, SHARED_IP))).toBe(siteAState);
    const siteB = await nodeAt(SHARED_IP, PROXY_B);
    expect(siteB.metadata?.name).toMatch(/^b-[a-z0-9]{6}$/);
    expect(joinState(machine(1, SHARED_IP))).toContain(siteB.metadata!.name!);
  });

  it('adopts a Node its own earlier run joined but never labelled, instead of joining the machine again', async () => {
    // As if the run died between the join and the label: the label goes, the Job and the Node stay.
    const node = await nodeAt(SHARED_IP, PROXY_B);
    await core.patchNode(
      { name: node.metadata!.name!, body: { metadata: { labels: { [NODE_TASK_LABEL]: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const jobs = await jobCount();
    const state = joinState(machine(1, SHARED_IP));

    const result = await run(
      nodeTask('site-b', PROXY_B, { nodeNamePrefix: 'b', targetMachines: [SHARED_IP] }),
    );

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    expect(await jobCount()).toBe(jobs);
    expect(joinState(machine(1, SHARED_IP))).toBe(state);
    const adopted = await nodeAt(SHARED_IP, PROXY_B);
    expect(adopted.metadata?.uid).toBe(node.metadata?.uid);
    expect(adopted.metadata?.labels?.[NODE_TASK_LABEL]).toBe(node.metadata?.labels?.[NODE_TASK_LABEL]);
  });

  it('refuses the task’s proxy node by name and by address, with the field path, touching nothing', async () => {
    expect(
      await refusal(nodeTask('proxy-name', PROXY_A, { nodeNamesOverride: { [PROXY_A]: A_SECOND } })),
    ).toContain(`spec.nodeNamesOverride.${PROXY_A}: ${PROXY_A} is a proxy node of this task`);
    expect(
      await refusal(nodeTask('proxy-ip', PROXY_A, { nodeNamePrefix: 'p', targetMachines: [PROXY_ADDRESS] })),
    ).toContain(
      `spec.targetMachines[0]: ${PROXY_ADDRESS} is the address of proxy node ${PROXY_A} of this task`,
    );
  });

  it('refuses to give a machine the name of a healthy Node of another machine', async () => {
    const siteA = (await nodeAt(SHARED_IP, PROXY_A)).metadata!.name!;
    // Machine A2 under the name of machine A1's Node, in the same site.
    expect(
      await refusal(nodeTask('steal-name', PROXY_A, { nodeNamesOverride: { [siteA]: A_SECOND } })),
    ).toContain(`spec.nodeNamesOverride.${siteA}: Node ${siteA} is another machine (${SHARED_IP})`);
    // Site B's machine with the same address under site A's Node name.
    expect(
      await refusal(nodeTask('cross-site', PROXY_B, { nodeNamesOverride: { [siteA]: SHARED_IP } })),
    ).toContain(
      `spec.nodeNamesOverride.${siteA}: Node ${siteA} was installed through ${PROXY_A}, another site`,
    );
  });

  it('refuses a control-plane node by name and by address', async () => {
    const second = (await nodeAt(A_SECOND, PROXY_A)).metadata!.name!;
    await core.patchNode(
      { name: second, body: { metadata: { labels: { [CONTROL_PLANE_LABELS[0]]: '' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    try {
      expect(
        await refusal(nodeTask('cp-name', PROXY_A, { nodeNamesOverride: { [second]: A_SECOND } })),
      ).toContain(`spec.nodeNamesOverride.${second}: Node ${second} is a control-plane node`);
      expect(
        await refusal(nodeTask('cp-ip', PROXY_A, { nodeNamePrefix: 'cp', targetMachines: [A_SECOND] })),
      ).toContain(`spec.targetMachines[0]: ${A_SECOND} is the address of control-plane node ${second}`);
    } finally {
      await core.patchNode(
        { name: second, body: { metadata: { labels: { [CONTROL_PLANE_LABELS[0]]: null } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
  });

  it('keeps the old Node when the machine cannot be logged into: nothing is deleted before the machine is reached', async () => {
    const old = await nodeAt(A_SECOND, PROXY_A);
    const wrong = join(workDir, 'wrong.yaml');
    writeFileSync(wrong, 'passwd: not-the-password\n', { mode: 0o600 });

    const result = await run(
      nodeTask('wrong-login', PROXY_A, { nodeNamesOverride: { 'a-renamed': A_SECOND } }),
      wrong,
    );

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(ErrorNames.NodesFailed);
    const after = (await edgeNodes()).find((n) => n.metadata?.name === old.metadata?.name);
    expect(after?.metadata?.uid).toBe(old.metadata?.uid);
    await expectLockFree();
  });

  it('replaces a renamed machine’s old Node of the same site only after it joined again, with an Event', async () => {
    const old = await nodeAt(A_SECOND, PROXY_A);

    const result = await run(nodeTask('rename', PROXY_A, { nodeNamesOverride: { 'a-renamed': A_SECOND } }));

    expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
    const names = (await edgeNodes()).map((n) => n.metadata?.name);
    expect(names).not.toContain(old.metadata?.name);
    expect((await nodeAt(A_SECOND, PROXY_A)).metadata?.name).toBe('a-renamed');
    expect(joinState(machine(0, A_SECOND))).toContain('a-renamed');
    const events = await core.listNamespacedEvent({ namespace: TASK_NAMESPACE });
    const replaced = events.items.filter((e) => e.reason === 'NodeReplaced');
    expect(replaced.map((e) => e.message)).toContainEqual(
      `deleted Node ${old.metadata!.name!} (${A_SECOND}): the machine joined again as a-renamed through ${PROXY_A}`,
    );
    // Site B's machines were never part of it.
    expect((await nodeAt(SHARED_IP, PROXY_B)).metadata?.name).toMatch(/^b-/);
  });
});
