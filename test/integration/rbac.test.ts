/**
 * The shipped RBAC, enforced by the real apiserver: for each rule, an identity bound to the manifests
 * minus that rule fails the smallest call the product makes that needs it, with a message naming the
 * missing right (verb, resource, namespace), while the identity bound to all of them succeeds at it.
 * One loopback control plane serves every case.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rbacCommand } from '../../cli/commands/cluster-rbac';
import { rbacWriterFromKubeconfig } from '../../lambdas/adapters/kube-rbac';
import { kubeconfigProblems } from '../../lambdas/domain/kubeconfig';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import type { KubeObject } from '../../lambdas/domain/kube-types';
import { ownerReference } from '../../lambdas/domain/prepared-task';
import { taskEvent } from '../../lambdas/domain/task-events';
import { nodeEvents } from '../../lambdas/domain/node-events';
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from '../../lambdas/domain/node-task-kind';
import { nodeTaskOwnerReference, type NodeTaskObject } from '../../lambdas/domain/node-task-status';
import { SHIPPED_RULES, rbacManifests } from '../../lambdas/domain/rbac';
import { ErrorNames } from '../../lambdas/errors';
import type { Kube, Log } from '../../lambdas/ports';
import { deleteTaskToken, ensureTaskToken } from '../../lambdas/use-cases/bootstrap-token';
import { installNodeTaskCrd } from '../../lambdas/use-cases/install-crd';
import { applyProductRbac } from '../../lambdas/use-cases/product-identity';
import { stopTaskJobs } from '../../lambdas/use-cases/stop-task-jobs';
import { startControlPlane, type ControlPlane } from '../../sandbox/control-plane';
import { productIdentity } from '../../sandbox/product-identity';
import { nodeTask } from '../support/node-task';

const NS = 'edge-system';
const TASK = 'rbac-task';
const EXECUTION = 'arn:aws:states:local:000000000000:execution:penetrator:rbac-1';
const quiet: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

let cp: ControlPlane;
let admin: Kube;
/** Bound to every shipped rule. */
let full: Kube;
/** The task object and the NodeTask, as Prepare leaves them, for the calls that write under them. */
let taskObject: KubeObject;
let task: NodeTaskObject;
let written = 0;

/** A fresh object name per call, so the full identity's successful writes never meet each other. */
const fresh = (base: string): string => `${base}-${++written}`;

interface Case {
  /** The right the message must name. */
  right: string;
  /** The product's call that needs it. */
  run: (kube: Kube) => Promise<unknown>;
}

/** Each rule's smallest product call, by rule id; the test below fails if a rule has none. */
const CASES: Record<string, Case> = {
  configmaps: {
    right: 'verb "get" on resource "configmaps" (API group "") in namespace edge-system',
    // Plan reads the task object of a task of the same name.
    run: (kube) => kube.get({ kind: 'ConfigMap', namespace: NS, name: 'penetrator-task-other' }),
  },
  'configmaps-finalizers': {
    right: 'verb "update" on resource "configmaps/finalizers" (API group "") in namespace edge-system',
    // Prepare writes the script ConfigMap owned by the task object, which blocks the owner's deletion.
    run: (kube) =>
      kube.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: fresh('penetrator-script'),
          namespace: NS,
          ownerReferences: [
            ownerReference({ taskObject: taskObject.metadata.name, ownerUid: taskObject.metadata.uid! }),
          ],
        },
        data: {},
      }),
  },
  secrets: {
    right: 'verb "delete" on resource "secrets" (API group "") in namespace edge-system',
    // Cleanup deletes the projected credential.
    run: (kube) => kube.delete({ kind: 'Secret', namespace: NS, name: 'penetrator-cred-gone' }),
  },
  jobs: {
    right: 'verb "list" on resource "jobs" (API group "batch") in namespace edge-system',
    // Cleanup stops the task's Jobs (after its Pods).
    run: (kube) => stopTaskJobs(kube, TASK, quiet, 1_000),
  },
  pods: {
    right: 'verb "list" on resource "pods" (API group "") in namespace edge-system',
    run: (kube) => stopTaskJobs(kube, TASK, quiet, 1_000),
  },
  leases: {
    right: 'verb "get" on resource "leases" (API group "coordination.k8s.io") in namespace edge-system',
    // Every step reads the cluster lock first.
    run: (kube) => kube.get({ kind: 'Lease', namespace: NS, name: 'penetrator-lock' }),
  },
  events: {
    right: 'verb "create" on resource "events" (API group "") in namespace edge-system',
    // Check install and Summarize write the task's Events.
    run: (kube) =>
      kube.create(
        taskEvent({
          task: {
            name: TASK,
            executionId: EXECUTION,
            taskObject: taskObject.metadata.name,
            ownerUid: taskObject.metadata.uid!,
          },
          reason: 'NodeInstalled',
          message: 'node edge-1 joined',
          key: fresh('edge'),
          now: new Date(),
        }),
      ),
  },
  'node-events': {
    right: 'verb "create" on resource "events" (API group "") in namespace default',
    // Start and Check install write each node's Event where `kubectl describe nt` reads it.
    run: (kube) =>
      kube.create(
        nodeEvents({
          nodeTask: { name: task.metadata.name, uid: task.metadata.uid! },
          executionId: `${EXECUTION}-${++written}`,
          node: { name: 'edge-1', ip: '10.0.0.1' },
          change: { reason: 'Installed', attempt: 1 },
          now: new Date(),
        })[0],
      ),
  },
  'bootstrap-tokens': {
    right: 'verb "create" on resource "secrets" (API group "") in namespace kube-system',
    // Prepare creates the execution's join token, and every ending deletes it.
    run: async (kube) => {
      const ref = { name: TASK, executionId: `${EXECUTION}-${++written}` };
      await ensureTaskToken(kube, ref, new Date(), 600);
      expect(await deleteTaskToken(kube, ref)).toBe('deleted');
    },
  },
  'cluster-info': {
    right: 'verb "get" on resource "configmaps" (API group "") in namespace kube-public',
    // Prepare reads the join address and CA hash.
    run: (kube) => kube.get({ kind: 'ConfigMap', namespace: 'kube-public', name: 'cluster-info' }),
  },
  nodes: {
    right: 'verb "list" on resource "nodes" (API group "") cluster-wide',
    // Plan lists the cluster's Nodes.
    run: (kube) => kube.list({ kind: 'Node' }),
  },
  nodetasks: {
    right: `verb "get" on resource "nodetasks" (API group "${NODE_TASK_API_VERSION.split('/')[0]}") cluster-wide`,
    // Prepare adopts the NodeTask applied with kubectl.
    run: (kube) => kube.get({ kind: 'NodeTask', name: TASK }),
  },
  'nodetasks-status': {
    right: `verb "patch" on resource "nodetasks/status" (API group "${NODE_TASK_API_VERSION.split('/')[0]}") cluster-wide`,
    // Every step writes the task's progress.
    run: (kube) => kube.patchStatus({ kind: 'NodeTask', name: TASK }, { nodetaskStatus: 'creating' }),
  },
  'nodetasks-finalizers': {
    right: `verb "update" on resource "nodetasks/finalizers" (API group "${NODE_TASK_API_VERSION.split('/')[0]}") cluster-wide`,
    // Prepare writes the run's record owned by the NodeTask, which blocks the NodeTask's deletion.
    run: (kube) =>
      kube.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: fresh('penetrator-task'),
          namespace: NS,
          ownerReferences: [nodeTaskOwnerReference(task)],
        },
        data: {},
      }),
  },
};

/** RBAC reaches the authorizer through its informers: a fresh binding may take a moment to count. */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await call();
    } catch (error) {
      if (tries >= 20 || !/HTTP 403/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

beforeAll(async () => {
  cp = await startControlPlane();
  admin = kubeFromKubeconfig('rbac', cp.kubeconfigYaml);
  await installNodeTaskCrd(admin);
  full = kubeFromKubeconfig('rbac', (await productIdentity(cp)).kubeconfigYaml);
  taskObject = (
    await admin.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `penetrator-task-${TASK}`, namespace: NS },
      data: {},
    })
  ).object;
  const document = nodeTask({ name: TASK });
  task = (
    await admin.create<NodeTaskObject>({
      ...document,
      apiVersion: NODE_TASK_API_VERSION,
      kind: NODE_TASK_KIND,
    })
  ).object;
}, 300_000);

afterAll(async () => {
  await cp?.stop();
});

describe('penetrator cluster rbac --apply', () => {
  it("applies the manifests and writes the ServiceAccount's kubeconfig, never over an existing file", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'penetrator-rbac-'));
    try {
      const out = join(dir, 'product.kubeconfig');
      let printed = '';
      const io = {
        stdout: (text: string) => (printed += text),
        writer: (yaml: string) => rbacWriterFromKubeconfig('rbac', yaml),
      };
      const code = await rbacCommand(
        { apply: true, kubeconfig: cp.kubeconfigPath, tokenKubeconfig: out },
        io,
      );
      expect(code).toBe(0);
      expect(printed).toContain('clusterrole/penetrator applied');
      expect(printed).toContain('role/penetrator:join-tokens -n kube-system applied');
      expect(printed).toMatch(
        /wrote .*product\.kubeconfig \(ServiceAccount edge-system\/penetrator, token valid until \d{4}-/,
      );
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const kubeconfig = readFileSync(out, 'utf8');
      expect(kubeconfigProblems(kubeconfig)).toEqual([]);
      const token = /"token": "([^"]+)"/.exec(kubeconfig)![1]!;
      expect(printed).not.toContain(token);
      // The product's identity reads what it needs and nothing more.
      const product = kubeFromKubeconfig('rbac', kubeconfig);
      await eventually(() => product.list({ kind: 'Node' }));
      await expect(product.list({ kind: 'Secret', namespace: 'kube-system' })).rejects.toThrow(
        'verb "list" on resource "secrets" (API group "") in namespace kube-system',
      );

      writeFileSync(out, 'kept\n');
      await expect(
        rbacCommand({ apply: true, kubeconfig: cp.kubeconfigPath, tokenKubeconfig: out }, io),
      ).rejects.toThrow('the file exists; it is left as it is');
      expect(readFileSync(out, 'utf8')).toBe('kept\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to take over a ClusterRole of that name that someone else manages', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(cp.kubeconfigYaml);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const theirs = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
    await rbac.createClusterRole({ body: { metadata: { name: 'penetrator:theirs' }, rules: [theirs] } });
    const writer = rbacWriterFromKubeconfig('rbac', cp.kubeconfigYaml);
    const refused = await applyProductRbac(writer, { subjectName: 'theirs' }).catch(
      (e: unknown) => e as Error,
    );
    expect(refused).toMatchObject({ name: ErrorNames.RbacRefused });
    expect((refused as Error).message).toContain(
      'ClusterRole penetrator:theirs exists and is managed by something else',
    );
    expect((await rbac.readClusterRole({ name: 'penetrator:theirs' })).rules).toEqual([theirs]);
  });
});

describe('the shipped RBAC, one rule removed at a time', () => {
  it('gives every rule a case, and grants nothing the manifests do not list', () => {
    expect(Object.keys(CASES).sort()).toEqual(SHIPPED_RULES.map((r) => r.id).sort());
    const rules = rbacManifests().flatMap((m) => (Array.isArray(m.rules) ? (m.rules as unknown[]) : []));
    expect(rules).toHaveLength(SHIPPED_RULES.length);
    // No list or watch on any Secret: a token is read only by its name.
    const secretRules = SHIPPED_RULES.filter((r) => r.rule.resources.includes('secrets'));
    for (const r of secretRules) expect(r.rule.verbs).not.toEqual(expect.arrayContaining(['list']));
    for (const r of secretRules) expect(r.rule.verbs).not.toEqual(expect.arrayContaining(['watch']));
  });

  it.each(SHIPPED_RULES.map((r) => r.id))(
    'without "%s", the call that needs it fails naming the right; with it, the call succeeds',
    { timeout: 120_000 },
    async (id) => {
      const testCase = CASES[id]!;
      await eventually(() => testCase.run(full));

      const subjectName = `without-${id}`;
      const lacking = kubeFromKubeconfig(
        'rbac',
        (await productIdentity(cp, { without: [id], subjectName })).kubeconfigYaml,
      );
      // Let the new bindings count before judging: the rules kept must already be granted.
      const probe = id === 'nodes' ? CASES['cluster-info']! : CASES.nodes!;
      await eventually(() => probe.run(lacking));
      const error = (await testCase.run(lacking).then(
        () => undefined,
        (e: unknown) => e,
      )) as Error | undefined;
      expect(error, `the call that needs "${id}" succeeded without it`).toBeInstanceOf(Error);
      expect(error!.name).toBe(ErrorNames.ClusterNotFound);
      expect(error!.message).toContain('forbidden (HTTP 403)');
      expect(error!.message).toContain(testCase.right);
    },
  );
});
