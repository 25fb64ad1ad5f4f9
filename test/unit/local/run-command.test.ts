import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeTask, type RunDependencies, type RunOptions } from '../../../cli/commands/run';
import { loadSynthesizedDefinition } from '../../../cli/local/definition';
import type {
  CheckOutput,
  CleanupInput,
  LambdaName,
  NodeStepInput,
  PlanInput,
  PlanOutput,
  SummarizeInput,
  TaskRef,
  WorkflowHandler,
} from '../../../lambdas/domain/contracts';
import { summarize } from '../../../lambdas/domain/summary';
import { InstallFailedError, InstallRunningError } from '../../../lambdas/errors';
import type { LocalDependencies } from '../../../lambdas/local-handlers';
import type { RuntimeChoice } from '../../../cli/local/local-runtime';
import { FileObjectStore } from '../../../lambdas/adapters/file-objects';
import { readMapResults } from '../../../lambdas/use-cases/summarize';
import { readSkipped, writeWork } from '../../../lambdas/use-cases/work-store';

// The command is run end to end on the synthesized definition and the seed example; the handlers are
// plain functions in place of the Lambdas' code (which needs a cluster), summarize is the real one.

const example = resolve(import.meta.dirname, '../../../examples/add-nodes.yaml');
const dir = mkdtempSync(join(tmpdir(), 'penetrator-run-'));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\n');
writeFileSync(join(dir, 'edgeadm.tgz'), 'package bytes');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The run's object store, as the local runtime gives one to the handlers and the Distributed Map.
const objects = new FileObjectStore(join(dir, 'objects'));

let definition: object;
beforeAll(async () => {
  definition = await loadSynthesizedDefinition();
}, 120_000);

async function plan({ input, executionId }: PlanInput): Promise<PlanOutput> {
  const spec = (input.nodeTask as { spec: { targetMachines: string[] } }).spec;
  return {
    task: {
      name: 'nodes',
      cluster: input.cluster ?? 'local',
      labelValue: 'nodes-a1b2c3',
      mode: 'proxy',
      installer: 'edgeadm',
      credential: 'login-secret',
      sshUser: 'root',
      sshPort: 22,
      executionId,
      maxAttempts: 2,
      attemptTimeoutSeconds: 600,
      pollSeconds: 10,
    },
    work: await writeWork(
      { objects },
      executionId,
      spec.targetMachines.map((ip, i) => ({
        name: `edge-n${i}`,
        ip,
        proxyNode: 'vm-2-117-centos',
        reinstall: false,
      })),
      [],
    ),
    maxConcurrency: 10,
  };
}

function harness(failing?: string, overrides: Partial<Record<LambdaName, WorkflowHandler>> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const created: LocalDependencies[] = [];
  const cleanups: CleanupInput[] = [];
  const handlers: Record<LambdaName, WorkflowHandler> = {
    plan: (p) => plan(p as PlanInput),
    lock: () => Promise.resolve(null),
    prepare: (p) => Promise.resolve({ ...(p as { task: TaskRef }).task, ownerUid: 'uid-7' }),
    startInstall: () => Promise.resolve({ job: 'install-job', number: 1, waitSeconds: 1 }),
    checkInstall: (p) =>
      (p as NodeStepInput).node.ip === failing
        ? Promise.reject(
            new InstallFailedError('ssh: connect to host 172.21.3.195 port 22: No route to host'),
          )
        : Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] }),
    summarize: async (p) => {
      const { results, work } = p as SummarizeInput;
      return summarize({
        results: await readMapResults(objects, results),
        skipped: await readSkipped({ objects }, work),
      });
    },
    cleanup: (p) => {
      cleanups.push(p as CleanupInput);
      return Promise.resolve(null);
    },
    ...overrides,
  };
  const closed: boolean[] = [];
  const choices: RuntimeChoice[] = [];
  const deps: RunDependencies = {
    openRuntime: (d, choice) => {
      created.push(d);
      choices.push(choice);
      return Promise.resolve({
        definition,
        handlers,
        objects,
        artifacts: ['Plan task → the plan stand-in'],
        close: () => closed.push(true),
      });
    },
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  };
  return { deps, created, closed, choices, cleanups, stdout: () => out.join(''), stderr: () => err.join('') };
}

const base: RunOptions = {
  file: example,
  kubeconfig,
  credential: join(dir, 'creds'),
  poll: 0,
  retryInterval: 0,
};

// The first execution compiles asl-validator's schemas: seconds on a busy machine.
describe('penetrator run', { timeout: 60_000 }, () => {
  it('runs the example to success, printing per-node progress and a node table', async () => {
    const h = harness();
    const code = await runNodeTask(
      { ...base, package: join(dir, 'edgeadm.tgz'), image: 'registry.local/installer:1' },
      h.deps,
    );

    expect(code).toBe(0);
    expect(h.created).toEqual([
      {
        kubeconfigYaml: 'apiVersion: v1\nkind: Config\nclusters: []\n',
        credentialPath: base.credential,
        settings: {
          installerImage: 'registry.local/installer:1',
          // The operator's own file: its sha256 is computed for the proxy and the target to check.
          packageSource: {
            kind: 'hostPath',
            path: join(dir, 'edgeadm.tgz'),
            sha256: sha256('package bytes'),
          },
          // --retry-interval: the pause the nodes' Retrying Events announce.
          attemptIntervalSeconds: 0,
        },
      },
    ]);
    // The deployed bundles by default; the runtime is closed when the run ends.
    expect(h.choices).toEqual([{ fromSources: false }]);
    expect(h.stderr()).toMatch(/^runs: Plan task → the plan stand-in$/m);
    expect(h.closed).toEqual([true]);
    expect(h.stderr()).toMatch(/^\[\d\d:\d\d:\d\d\] Plan task$/m);
    expect(h.stderr()).toMatch(/^\[\d\d:\d\d:\d\d\] task nodes on cluster local: 2 to install$/m);
    expect(h.stderr()).toMatch(/^\[\d\d:\d\d:\d\d\] edge-n0 172\.21\.3\.194 {2}installing \(attempt 1\)$/m);
    expect(h.stderr()).toMatch(/^\[\d\d:\d\d:\d\d\] edge-n1 172\.21\.3\.195 {2}installed$/m);
    expect(h.stdout()).toBe(
      [
        'NAME      IP             STATE       ATTEMPTS   REASON',
        'edge-n0   172.21.3.194   installed   1          <none>',
        'edge-n1   172.21.3.195   installed   1          <none>',
        'nodetask/nodes succeeded',
        '',
      ].join('\n'),
    );
  });

  it('runs the handlers from the sources only when asked (--from-sources)', async () => {
    const h = harness();
    expect(await runNodeTask({ ...base, fromSources: true }, h.deps)).toBe(0);
    expect(h.choices).toEqual([{ fromSources: true }]);
  });

  it('exits 1 and reports the failed node with its reason, retried up to the ceiling', async () => {
    const h = harness('172.21.3.195');
    const code = await runNodeTask({ ...base, output: 'json' }, h.deps);

    expect(code).toBe(1);
    const report = JSON.parse(h.stdout()) as {
      status: string;
      error: string;
      cause: string;
      nodes: unknown[];
    };
    expect(report.status).toBe('FAILED');
    expect(report.error).toBe('Penetrator.NodesFailed');
    expect(report.cause).toContain('edge-n1 (172.21.3.195): ssh: connect to host');
    expect(report.nodes).toEqual([
      { name: 'edge-n0', ip: '172.21.3.194', state: 'installed', attempts: 1 },
      {
        name: 'edge-n1',
        ip: '172.21.3.195',
        state: 'failed',
        attempts: 1,
        reason: 'ssh: connect to host 172.21.3.195 port 22: No route to host',
      },
    ]);
    expect(h.stderr().match(/edge-n1 172\.21\.3\.195 {2}attempt \d failed: ssh: connect/g)).toHaveLength(5);
    expect(h.stderr()).toMatch(/edge-n1 172\.21\.3\.195 {2}failed: ssh: connect to host/);
  });

  it('releases the cluster when interrupted after taking the lock', async () => {
    const controller = new AbortController();
    const h = harness(undefined, {
      checkInstall: () => {
        controller.abort();
        return Promise.reject(new InstallRunningError('edge-n1 is still running'));
      },
    });
    const code = await runNodeTask({ ...base, poll: 0.05 }, { ...h.deps, signal: controller.signal });

    expect(code).toBe(1);
    expect(h.cleanups).toEqual([
      {
        task: expect.objectContaining({ name: 'nodes', ownerUid: 'uid-7' }) as unknown,
        error: { Error: 'Interrupted', Cause: 'the local run was interrupted' },
      },
    ]);
    expect(h.stderr()).toContain('interrupted: releasing cluster local');
    expect(h.stdout()).toMatch(/nodetask\/nodes aborted\n$/);
  });

  it('does not release a lock it never took when interrupted', async () => {
    const controller = new AbortController();
    const h = harness(undefined, {
      lock: () => {
        controller.abort();
        return new Promise((resolve) => setTimeout(() => resolve(null), 50));
      },
    });
    const code = await runNodeTask(base, { ...h.deps, signal: controller.signal });

    expect(code).toBe(1);
    expect(h.cleanups).toEqual([]);
  });

  it('exits 1 on an invalid NodeTask without touching the cluster', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: nodetask.apps.superedge.io/v1beta1\nkind: NodeTask\nmetadata: {name: x}\nspec: {}\n',
    );
    const h = harness();
    const code = await runNodeTask({ ...base, file: bad }, h.deps);

    expect(code).toBe(1);
    expect(h.stderr()).toMatch(/spec/);
    expect(h.created).toEqual([]);
    expect(h.stdout()).toBe('');
  });

  it('fails when the kubeconfig cannot be read, naming it', async () => {
    const h = harness();
    await expect(runNodeTask({ ...base, kubeconfig: join(dir, 'missing') }, h.deps)).rejects.toThrow(
      /cannot read kubeconfig .*missing: no such file/,
    );
    expect(h.created).toEqual([]);
  });
});
