/**
 * A task where one machine fails, fixed, then retried (`penetrator retry nodetask`, local door):
 * only that machine is installed, under the name and the task label its first run gave it, and the
 * installed machine is not joined again (its own join journal says so). While and after the runs,
 * the real kubectl shows each node's live Events: `kubectl describe nt` (Events about the
 * cluster-scoped NodeTask) and `kubectl -n edge-system get event`, as the original's users read
 * them. Real control plane, real sshd machines behind NAT, the synthesized workflow definition.
 * Its own subnet, proxy and task names.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryLocally } from '../../cli/commands/retry';
import { runNodeTask, type RunDependencies } from '../../cli/commands/run';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { ErrorNames } from '../../lambdas/errors';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { kubectl } from '../../sandbox/kubectl';
import { readJoinJournal } from '../support/join-journal';

const PASSWORD = 'rr-root-pw';
const SUBNET = '172.21.80.0/24';
const PROXY = 'rr-proxy';
const TASK = 'rr-resume';
const GOOD = '172.21.80.10';
/** Its root password is not the credential's until the test fixes it. */
const LOCKED_OUT = '172.21.80.11';
/** No machine answers there: every attempt fails and is retried, then given up. */
const ABSENT = '172.21.80.12';

let env: TestEnvironment;
let workDir: string;
let credentialPath: string;
let nodeTaskPath: string;
let core: CoreV1Api;
const runtimes = new LocalRuntimes();
const stderr: string[] = [];

const deps: RunDependencies = {
  openRuntime: (d) => runtimes.open(d, { fromSources: true }),
  stdout: () => undefined,
  stderr: (text) => void stderr.push(text),
};
const localOptions = () => ({
  kubeconfig: env.product.kubeconfigPath,
  credential: credentialPath,
  package: env.installPackagePath,
  poll: 0.5,
  retryInterval: 1,
});

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

async function k(...args: string[]): Promise<string> {
  const result = await kubectl(env.cp.kubeconfigPath, args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

const internalIp = (node: V1Node) => node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;

async function nodeAt(ip: string): Promise<V1Node | undefined> {
  return (await core.listNode()).items.find((n) => internalIp(n) === ip);
}

/** The run's record: the label value and the names it gave. */
async function recorded(): Promise<{ labelValue: string; assignment: Record<string, string> }> {
  const cm = await core.readNamespacedConfigMap({
    name: `penetrator-task-${TASK}`,
    namespace: TASK_NAMESPACE,
  });
  return {
    labelValue: cm.data!.labelValue!,
    assignment: JSON.parse(cm.data!.assignment!) as Record<string, string>,
  };
}

/** The credential's password becomes root's on the machine (sshd reads /etc/shadow at each login). */
function acceptCredential(target: EdgeMachine): void {
  const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${PASSWORD}\n` })
    .toString()
    .trim();
  writeFileSync(join(target.workDir, 'shadow'), `root:${hash}:20000:0:99999:7:::\n`);
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [
          { ip: GOOD, password: PASSWORD },
          { ip: LOCKED_OUT, password: 'not-the-credential' },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-retry-'));
  credentialPath = join(workDir, 'login-secret.yaml');
  writeFileSync(credentialPath, `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  nodeTaskPath = join(workDir, 'nodetask.yaml');
  writeFileSync(
    nodeTaskPath,
    [
      'apiVersion: nodetask.apps.superedge.io/v1beta1',
      'kind: NodeTask',
      'metadata:',
      `  name: ${TASK}`,
      'spec:',
      '  nodeNamePrefix: "rr"',
      `  targetMachines: [${GOOD}, ${LOCKED_OUT}, ${ABSENT}]`,
      '  sshCredential: login-secret',
      `  proxyNode: ${PROXY}`,
      '  maxAttempts: 2',
      '',
    ].join('\n'),
  );
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
}, 300_000);

afterAll(async () => {
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('retry after a partly failed task, with live Events', () => {
  it('the first run installs one machine, gives the others up, and kubectl shows every change', async () => {
    const code = await runNodeTask({ file: nodeTaskPath, ...localOptions() }, deps);

    expect({ code, stderr: stderr.join('') }).toMatchObject({ code: 1 });
    const first = await recorded();
    expect((await nodeAt(GOOD))?.metadata?.labels?.[NODE_TASK_LABEL]).toBe(first.labelValue);
    expect(await nodeAt(LOCKED_OUT)).toBeUndefined();

    // kubectl describe reads Events about a cluster-scoped object with no namespace and its uid.
    const described = await k('describe', 'nt', TASK);
    const names = Object.fromEntries(Object.entries(first.assignment).map(([name, ip]) => [ip, name]));
    expect(described).toMatch(/Events:/);
    expect(described).toMatch(
      new RegExp(
        `Normal\\s+Installing\\s+.*node ${names[GOOD]} \\(${GOOD}\\): attempt 1 of 2 started through ${PROXY}`,
      ),
    );
    expect(described).toMatch(
      new RegExp(`Normal\\s+Installed\\s+.*node ${names[GOOD]} \\(${GOOD}\\): installed \\(attempt 1\\)`),
    );
    expect(described).toMatch(
      new RegExp(
        `Warning\\s+Retrying\\s+.*node ${names[ABSENT]} \\(${ABSENT}\\): attempt 1 of 2 failed: .+; attempt 2 starts within 1s`,
      ),
    );
    expect(described).toMatch(
      new RegExp(`Warning\\s+GaveUp\\s+.*node ${names[ABSENT]} \\(${ABSENT}\\): given up after attempt 2`),
    );
    expect(described).toMatch(
      new RegExp(
        `Warning\\s+GaveUp\\s+.*node ${names[LOCKED_OUT]} \\(${LOCKED_OUT}\\): given up after attempt 1: .*permission denied`,
      ),
    );
    expect(described).not.toContain(PASSWORD);

    // The original's habit: the same changes in edge-system.
    const listed = await k(
      '-n',
      TASK_NAMESPACE,
      'get',
      'event',
      '--field-selector',
      `involvedObject.name=${TASK}`,
    );
    for (const reason of ['Installing', 'Installed', 'Retrying', 'GaveUp']) expect(listed).toContain(reason);
    expect(listed).toContain(`nodetask/${TASK}`);
  });

  it('a retry installs only the fixed machine, under its name and the task label; the installed one is not joined again', async () => {
    const before = await recorded();
    const good = await nodeAt(GOOD);
    const goodJoins = readJoinJournal(machine(GOOD)).filter((l) => l.event === 'start');
    expect(goodJoins).toHaveLength(1);
    acceptCredential(machine(LOCKED_OUT));

    // A local run leaves no execution holding the document: it is given as it was to penetrator run.
    const code = await retryLocally(TASK, { ...localOptions(), file: nodeTaskPath }, deps);

    // The absent machine still fails; the fixed one is installed.
    expect({ code, stderr: stderr.join('') }).toMatchObject({ code: 1 });
    const after = await recorded();
    expect(after.labelValue).toBe(before.labelValue);
    expect(after.assignment).toEqual(before.assignment);
    const fixed = await nodeAt(LOCKED_OUT);
    const fixedName = Object.entries(before.assignment).find(([, ip]) => ip === LOCKED_OUT)![0];
    expect(fixed?.metadata?.name).toBe(fixedName);
    expect(fixed?.metadata?.labels?.[NODE_TASK_LABEL]).toBe(before.labelValue);
    expect(readJoinJournal(machine(LOCKED_OUT)).filter((l) => l.event === 'start')).toHaveLength(1);
    // Skipped: the same Node object, no second join on the machine.
    expect((await nodeAt(GOOD))?.metadata?.uid).toBe(good?.metadata?.uid);
    expect(readJoinJournal(machine(GOOD)).filter((l) => l.event === 'start')).toHaveLength(1);
    expect(await k('describe', 'nt', TASK)).toMatch(
      new RegExp(`Normal\\s+Installed\\s+.*node ${fixedName} \\(${LOCKED_OUT}\\): installed \\(attempt 1\\)`),
    );
  });

  it('refuses to retry a task the cluster has no record of, before running anything', async () => {
    await expect(retryLocally('rr-never', localOptions(), deps)).rejects.toMatchObject({
      name: ErrorNames.TaskNotFound,
      message: 'task rr-never has no record in cluster local: nothing to retry',
    });
  });
});
