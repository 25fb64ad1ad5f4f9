/**
 * The secret scan: tasks that add, reinstall, fail a node and are interrupted mid-join run end to
 * end with a password credential and a private-key credential, on the real cluster with real sshd
 * machines, the synthesized workflow and the handlers from the sources. While they run, the process
 * lists of the machines and of the proxy node are sampled (every process's argv and environment)
 * and the bootstrap tokens the tasks create are read as an admin. Afterwards every byte the product
 * produced is scanned for the password, each line of the private key's body and every token secret:
 * the execution's event log and outputs, the handlers' log lines, what the CLI printed, every
 * Kubernetes Event, NodeTask and ConfigMap, the work objects, the proxy node's Pod files and
 * container output, and what the runner left in the temp directory. Zero hits; a planted copy of
 * each secret is found, so the scanner itself is shown to see them.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNodeTask, type RunDependencies } from '../../cli/commands/run';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { LocalRuntimes } from '../../cli/local/local-runtime';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { NODE_TASK_LABEL, TASK_NAMESPACE } from '../../lambdas/domain/contracts';
import { NODE_TASK_GROUP, NODE_TASK_PLURAL, NODE_TASK_VERSION } from '../../lambdas/domain/node-task-crd';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { readJoinJournal, until } from '../support/join-journal';

const PASSWORD = 'scan-Root-pw-5c1e7';
const SUBNET = '172.21.92.0/24';
const PROXY = 'scan-proxy';
const ADDED = '172.21.92.10';
const KEYED = '172.21.92.11';
/** Its root password is not the credential's: the node fails. */
const LOCKED_OUT = '172.21.92.12';
/** Its join pauses long enough for the run to be interrupted while it runs. */
const SLOW = '172.21.92.13';

let env: TestEnvironment;
let workDir: string;
let credentials: string;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let privateKey: string;
let publicKey: string;
/** The runner's temp directory (TMPDIR while the tasks run): what it leaves there is scanned. */
let runnerTmp: string;
const hostTmp = process.env.TMPDIR;
const runtimes = new LocalRuntimes();

/** Everything the product produced, by place: the scan reads these. */
const produced: Array<{ place: string; bytes: Buffer }> = [];
const produce = (place: string, text: string | Buffer): void =>
  void produced.push({ place, bytes: Buffer.isBuffer(text) ? text : Buffer.from(text) });
/** Directories whose files are scanned once every task has ended. */
const producedDirs: string[] = [];
/** Bootstrap token secrets seen in kube-system while the tasks ran. */
const tokenSecrets = new Set<string>();
/** Distinct argv and environment blocks of the processes sampled inside the site. */
const sampled = new Set<string>();
let samples = 0;
let joinsSeen = 0;

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { nodeNamePrefix: 'scan', proxyNode: PROXY, maxAttempts: 1, ...spec },
  };
}

/**
 * Writes to stdout and stderr while `body` runs are kept as logs (the handlers log JSON lines there,
 * as a Lambda does to its log group), instead of reaching the test's output.
 */
async function capturingOutput<T>(place: string, body: () => Promise<T>): Promise<T> {
  const chunks: Buffer[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write);
  for (const stream of streams) {
    stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(Buffer.from(chunk));
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    };
  }
  try {
    return await body();
  } finally {
    streams.forEach((stream, index) => void (stream.write = originals[index]!));
    produce(`${place}: stdout and stderr`, Buffer.concat(chunks));
  }
}

/** One run through the engine itself, so that its event log and output are at hand. */
async function runTask(document: Record<string, unknown>): Promise<WorkflowRunResult> {
  const objectsPath = mkdtempSync(join(runnerTmp, 'objects-'));
  const name = (document.metadata as { name: string }).name;
  const events: unknown[] = [];
  const result = await capturingOutput(`run ${name}`, () =>
    runWorkflowLocally({
      definition: definitionOf,
      input: { nodeTask: document },
      handlers: createLocalHandlers({
        kubeconfigYaml: env.product.kubeconfigYaml,
        credentialPath: credentials,
        objectsPath,
        logLevel: 'DEBUG',
        settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
      }),
      objects: new FileObjectStore(objectsPath),
      pollSeconds: 0.5,
      retryIntervalSeconds: 0.5,
      onEvent: (event) => void events.push(event),
    }),
  );
  produce(`run ${name}: event log`, JSON.stringify(events));
  produce(`run ${name}: result`, JSON.stringify(result));
  expect(events.length).toBeGreaterThan(10);
  return result;
}
let definitionOf: object;

/** One run through `penetrator run` (local door): what it prints is kept. */
async function runCli(document: Record<string, unknown>, signal?: AbortSignal): Promise<number> {
  const name = (document.metadata as { name: string }).name;
  const file = join(workDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(document));
  const printed: string[] = [];
  const deps: RunDependencies = {
    openRuntime: (d) => runtimes.open({ ...d, logLevel: 'DEBUG' }, { fromSources: true }),
    stdout: (text) => void printed.push(text),
    stderr: (text) => void printed.push(text),
    ...(signal ? { signal } : {}),
  };
  try {
    return await capturingOutput(`penetrator run ${name}`, () =>
      runNodeTask(
        {
          file,
          kubeconfig: env.product.kubeconfigPath,
          credential: credentials,
          package: env.installPackagePath,
          poll: 0.5,
          retryInterval: 0.5,
          output: 'json',
        },
        deps,
      ),
    );
  } finally {
    produce(`penetrator run ${name}: printed`, printed.join(''));
  }
}

/**
 * Every process inside the site (the machines' and the proxy node's network namespaces): its argv
 * and environment. Counts the machines' join processes seen, so the test knows it sampled a join.
 */
function sampleProcesses(machines: string[], proxy: string): void {
  const inode = (name: string): string => `net:[${statSync(`/run/netns/${name}`).ino}]`;
  const onMachine = new Map([...machines.map((m) => [inode(m), true] as const), [inode(proxy), false]]);
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const machine = onMachine.get(readlinkSync(`/proc/${pid}/ns/net`));
      if (machine === undefined) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`).toString('latin1');
      if (machine && argv.includes('join')) joinsSeen += 1;
      sampled.add(argv);
      sampled.add(readFileSync(`/proc/${pid}/environ`).toString('latin1'));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  samples += 1;
}

async function readTokenSecrets(): Promise<void> {
  const secrets = await core.listNamespacedSecret({
    namespace: 'kube-system',
    fieldSelector: 'type=bootstrap.kubernetes.io/token',
  });
  for (const secret of secrets.items) {
    const value = secret.data?.['token-secret'];
    if (value) tokenSecrets.add(Buffer.from(value, 'base64').toString());
  }
}

/** Samples the site and reads the tokens until `work` ends (bounded by the work itself). */
async function watching<T>(work: Promise<T>): Promise<T> {
  let done = false;
  const site = env.network.sites[0]!;
  const sampler = (async () => {
    while (!done) {
      sampleProcesses(
        site.machines.map((m) => m.netns),
        site.proxyNetns,
      );
      await readTokenSecrets().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return await work;
  } finally {
    done = true;
    await sampler;
  }
}

/**
 * The Pod's Secret volume: where the proxy node's kubelet puts the task's projected credential for
 * the install Job, by design (a real kubelet keeps it on tmpfs and unmounts it with the Pod). The
 * test kubelet leaves it in place; the Secret's own deletion is checked instead.
 */
const CREDENTIAL_VOLUME = /\/pods\/[^/]+\/volumes\/credential\//;

function filesUnder(path: string): string[] {
  if (!existsSync(path) || CREDENTIAL_VOLUME.test(`${path}/`)) return [];
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return [];
  if (stat.isFile()) return [path];
  if (!stat.isDirectory()) return [];
  return readdirSync(path).flatMap((entry) => filesUnder(join(path, entry)));
}

interface Needle {
  what: string;
  value: string;
}

function needles(): Needle[] {
  const body = privateKey
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .map((line, index) => ({ what: `private key body line ${index + 1}`, value: line }));
  return [
    { what: 'password', value: PASSWORD },
    ...body,
    ...[...tokenSecrets].map((value, index) => ({ what: `token secret ${index + 1}`, value })),
  ];
}

interface ScanReport {
  places: number;
  bytes: number;
  hits: string[];
}

/** Every produced byte, the directories' files included, read now. */
function scan(): ScanReport {
  const places = [...produced];
  for (const dir of producedDirs)
    for (const file of filesUnder(dir)) places.push({ place: file, bytes: readFileSync(file) });
  const wanted = needles().map((n) => ({ ...n, bytes: Buffer.from(n.value) }));
  const hits: string[] = [];
  for (const { place, bytes } of places)
    for (const n of wanted) if (bytes.includes(n.bytes)) hits.push(`${n.what} in ${place}`);
  return { places: places.length, bytes: places.reduce((sum, p) => sum + p.bytes.length, 0), hits };
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-scan-'));
  const keyFile = join(workDir, 'client-key');
  const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'scan', '-f', keyFile], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  privateKey = readFileSync(keyFile, 'utf8');
  publicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim();
  rmSync(keyFile);
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        machines: [
          { ip: ADDED, password: PASSWORD, joinDelayMs: 1000 },
          { ip: KEYED, authorizedKeys: [publicKey], joinDelayMs: 1000 },
          { ip: LOCKED_OUT, password: 'not-the-credential' },
          { ip: SLOW, password: PASSWORD, joinDelayMs: 20_000 },
        ],
      },
    ],
  });
  credentials = join(workDir, 'credentials');
  mkdirSync(credentials, { mode: 0o700 });
  writeFileSync(join(credentials, 'login-secret.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(credentials, 'login-key.pem'), privateKey, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  definitionOf = await loadSynthesizedDefinition();
  // The runner's own temp directory; the environment's (its cluster's data holds the Secrets) is elsewhere.
  runnerTmp = mkdtempSync(join(tmpdir(), 'penetrator-scan-runner-'));
  process.env.TMPDIR = runnerTmp;
  producedDirs.push(runnerTmp);
}, 300_000);

afterAll(async () => {
  if (hostTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = hostTmp;
  await runtimes.dispose();
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  if (runnerTmp) rmSync(runnerTmp, { recursive: true, force: true });
});

describe('the secret scan', () => {
  it('finds no password, private key or join token in anything the product produced', async () => {
    // Add with the password credential: one node installed, one failing.
    const added = await watching(
      runTask(nodeTask('scan-add', { sshCredential: 'login-secret', targetMachines: [ADDED, LOCKED_OUT] })),
    );
    expect(added.status).toBe('FAILED');
    expect(added.cause).toMatch(
      new RegExp(`\\(${LOCKED_OUT.replaceAll('.', '\\.')}\\): .*permission denied`),
    );
    const addedNode = (await core.listNode()).items.find((n) =>
      n.status?.addresses?.some((a) => a.address === ADDED),
    );
    expect(addedNode?.metadata?.labels?.[NODE_TASK_LABEL]).toMatch(/^scan-add-/);

    // Add with the private-key credential.
    const keyed = await watching(
      runTask(nodeTask('scan-key', { sshCredential: 'login-key', targetMachines: [KEYED] })),
    );
    expect(keyed.status, `${keyed.error}: ${keyed.cause}`).toBe('SUCCEEDED');

    // Reinstall the node the first task added, by its name, through `penetrator run`.
    const reinstalled = await watching(
      runCli(
        nodeTask('scan-reinstall', {
          sshCredential: 'login-secret',
          nodeNamesOverride: { [addedNode!.metadata!.name!]: ADDED },
        }),
      ),
    );
    expect(reinstalled).toBe(0);
    expect(readJoinJournal(machine(ADDED)).filter((l) => l.event === 'start')).toHaveLength(2);

    // Interrupted while the machine joins, as Ctrl-C does: the CLI releases the cluster.
    const controller = new AbortController();
    const interrupted = watching(
      runCli(
        nodeTask('scan-abort', { sshCredential: 'login-secret', targetMachines: [SLOW] }),
        controller.signal,
      ),
    );
    await until('the slow machine joins', () =>
      readJoinJournal(machine(SLOW)).some((l) => l.event === 'start'),
    );
    controller.abort();
    expect(await interrupted).not.toBe(0);

    // What the cluster keeps, read as an admin.
    produce('Events, all namespaces', JSON.stringify(await core.listEventForAllNamespaces()));
    produce(
      'NodeTasks',
      JSON.stringify(
        await custom.listClusterCustomObject({
          group: NODE_TASK_GROUP,
          version: NODE_TASK_VERSION,
          plural: NODE_TASK_PLURAL,
        }),
      ),
    );
    produce('ConfigMaps, all namespaces', JSON.stringify(await core.listConfigMapForAllNamespaces()));
    produce(
      `Pods in ${TASK_NAMESPACE}`,
      JSON.stringify(await core.listNamespacedPod({ namespace: TASK_NAMESPACE })),
    );
    // The proxy node's Pod directories and container output, and what the runs left in the temp dir.
    producedDirs.push(env.kubelet.workDir);
    // What the logins left on the machines: their /tmp (the join's private directory), root's home,
    // their logs and sshd's.
    for (const m of env.network.sites[0]!.machines)
      producedDirs.push(...['tmp', 'home', 'log', 'sshd.log'].map((part) => join(m.workDir, part)));
    // Every task ended: the projected credentials and the tokens are gone from the cluster.
    const left = await core.listNamespacedSecret({ namespace: TASK_NAMESPACE });
    expect(left.items.filter((s) => s.data?.passwd ?? s.data?.sshkey ?? s.data?.token)).toEqual([]);
    const tokensBefore = new Set(tokenSecrets);
    tokenSecrets.clear();
    await readTokenSecrets();
    expect([...tokenSecrets].filter((t) => tokensBefore.has(t))).toEqual([]);
    tokensBefore.forEach((t) => tokenSecrets.add(t));

    // The sampling saw the joins and the tokens the tasks created.
    expect(samples).toBeGreaterThan(10);
    expect(joinsSeen).toBeGreaterThan(0);
    expect(tokenSecrets.size).toBeGreaterThanOrEqual(3);
    // Each run's handler log lines were kept.
    const logs = produced.filter((p) => p.place.endsWith(': stdout and stderr'));
    expect(logs).toHaveLength(4);
    for (const log of logs) expect(log.bytes.toString()).toContain('"lambda":"prepare"');
    produce('process lists sampled during the joins', [...sampled].join('\n'));

    const report = scan();
    process.stdout.write(
      `secret scan: ${report.bytes} bytes in ${report.places} places, ${needles().length} secrets, ` +
        `${samples} process samples, ${report.hits.length} hits\n`,
    );
    expect(report.hits).toEqual([]);
    expect(report.bytes).toBeGreaterThan(100_000);

    // The scanner sees each secret where it looks: a planted copy is found in a scanned directory.
    const planted = join(producedDirs[0]!, 'planted');
    for (const n of needles()) {
      writeFileSync(planted, `before ${n.value} after`);
      expect(scan().hits).toEqual([`${n.what} in ${planted}`]);
    }
    rmSync(planted);
    expect(scan().hits).toEqual([]);
  }, 240_000);
});
