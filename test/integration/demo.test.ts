import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { processStartTime, type SandboxState } from '../../cli/sandbox/state';
import { runChecked } from '../../sandbox/network';

/**
 * `npm start` and `penetrator sandbox`, as a user runs them: the real bin as a child process, a real
 * control plane, proxy node and sshd machines, and afterwards nothing left on the machine.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'cli/bin/penetrator.js');
const DEMO_TIMEOUT_MS = 6 * 60_000;
const SANDBOX_TIMEOUT_MS = 4 * 60_000;
/** The round trip's own site, apart from the examples' 172.21.3.0/24. */
const SANDBOX_SUBNET = '172.21.9.0/24';
const SANDBOX_MACHINE = '172.21.9.194';

interface Run {
  status: number | null;
  output: string;
}

/** Runs the bin; on timeout SIGTERM (the demo tears down), then SIGKILL, and the test fails. */
function penetrator(
  args: string[],
  timeoutMs: number,
  env: Record<string, string> = {},
  /** Sees the output so far after each chunk: how a test interrupts the command at a given point. */
  watch?: (output: string, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, PENETRATOR_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timedOut = false;
    const kill = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    if (watch) {
      child.stdout.on('data', () => watch(output, child));
      child.stderr.on('data', () => watch(output, child));
    }
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(kill);
      if (timedOut)
        reject(new Error(`penetrator ${args.join(' ')} did not end within ${timeoutMs} ms:\n${output}`));
      else resolvePromise({ status, output });
    });
  });
}

async function namespaces(): Promise<string[]> {
  const text = await runChecked(['ip', '-j', 'netns', 'list']);
  return text.trim() === '' ? [] : (JSON.parse(text) as Array<{ name: string }>).map((n) => n.name);
}

const controlPlaneDirs = (): string[] => readdirSync(tmpdir()).filter((e) => e.startsWith('penetrator-cp-'));

async function routesTo(subnet: string): Promise<unknown[]> {
  const text = await runChecked(['ip', '-j', 'route', 'show', 'table', 'all']);
  return (JSON.parse(text.trim() === '' ? '[]' : text) as Array<{ dst?: string }>).filter(
    (r) => r.dst === subnet,
  );
}

/** The lines of the last node listing the demo printed (after its "nodes of the cluster" heading). */
function finalListing(output: string): string[] {
  const section = output.slice(output.lastIndexOf('nodes of the cluster'));
  return section.split('\n').filter((line) => /^\S+\s+(Ready|NotReady|Unknown)\s/.test(line));
}

describe('penetrator demo (npm start)', () => {
  it(
    'adds and reinstalls the example machines for real, lists the nodes, and leaves nothing behind',
    async () => {
      const namespacesBefore = new Set(await namespaces());
      const cpDirsBefore = new Set(controlPlaneDirs());

      const run = await penetrator(['demo'], DEMO_TIMEOUT_MS);

      expect(run).toMatchObject({ status: 0 });
      expect(run.output).toContain(
        'deleting finished nodetask/nodes (and what it owns) before the reinstall',
      );
      // Each state ran its Lambda's bundle from the synthesized assembly, under Node.js 24.
      expect(run.output).toMatch(
        /^runs: Start install → StartInstallFunction\w+ asset\.[0-9a-f]{64}\/index\.mjs \(nodejs24\.x, Node\.js v24\./m,
      );
      const rows = finalListing(run.output).map((line) => line.split(/\s+/));
      const reinstalled = rows.find((r) => r[0] === 'edge-1mokvl');
      expect(reinstalled).toEqual([
        'edge-1mokvl',
        'Ready',
        '<none>',
        '172.21.3.194',
        expect.stringMatching(/^nodes-[a-z0-9]{6}$/),
      ]);
      const second = rows.find((r) => r[3] === '172.21.3.195');
      expect(second?.[0]).toMatch(/^edge-[a-z0-9]{6}$/);
      expect(second?.[4]).toMatch(/^nodes-[a-z0-9]{6}$/);
      // The reinstall gave 172.21.3.194 a new task label; the other machine keeps the add's.
      expect(second?.[4]).not.toBe(reinstalled?.[4]);

      await expectDemoSandboxGone(run.output);
      expect((await namespaces()).filter((n) => n.startsWith('pn-') && !namespacesBefore.has(n))).toEqual([]);
      expect(controlPlaneDirs().filter((d) => !cpDirsBefore.has(d))).toEqual([]);
    },
    DEMO_TIMEOUT_MS + 30_000,
  );
});

/** What a demo run printed about its sandbox, to look for leftovers by name. */
function demoSandbox(output: string): { networkId?: string; cpDir?: string; credentialFile?: string } {
  return {
    networkId: /network pn-([a-z0-9]{6}) /.exec(output)?.[1],
    cpDir: /control plane (\S+penetrator-cp-\S+) /.exec(output)?.[1],
    credentialFile: /^(\/\S+\/login-secret\.yaml) \(mode 0600/m.exec(output)?.[1],
  };
}

async function expectDemoSandboxGone(output: string): Promise<void> {
  const { networkId, cpDir, credentialFile } = demoSandbox(output);
  expect(networkId).toMatch(/^[a-z0-9]{6}$/);
  expect((await namespaces()).filter((n) => n.startsWith(`pn-${networkId}-`))).toEqual([]);
  expect([cpDir, credentialFile].filter((path) => path === undefined || existsSync(path))).toEqual([]);
  expect(await routesTo('172.21.3.0/24')).toEqual([]);
}

describe('penetrator demo, interrupted or kept', () => {
  it(
    'tears the sandbox down on Ctrl-C in the middle of an install and exits 130',
    async () => {
      let interrupted = false;
      const run = await penetrator(['demo'], DEMO_TIMEOUT_MS, {}, (output, child) => {
        if (!interrupted && output.includes('installing (attempt 1)')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });

      expect(interrupted).toBe(true);
      expect(run).toMatchObject({ status: 130 });
      expect(run.output).toContain('SIGINT: stopping the demo');
      expect(run.output).toMatch(/-- sandbox removed in /);
      expect(run.output).not.toContain('nodes of the cluster');
      await expectDemoSandboxGone(run.output);
    },
    DEMO_TIMEOUT_MS + 30_000,
  );

  it(
    'with --keep leaves the sandbox to a supervisor that sandbox down stops',
    async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'penetrator-sandbox-state-'));
      const env = { PENETRATOR_SANDBOX_DIR: stateDir };
      try {
        const run = await penetrator(['demo', '--keep'], DEMO_TIMEOUT_MS, env);

        expect(run).toMatchObject({ status: 0 });
        const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as SandboxState;
        expect(run.output).toContain(`the sandbox keeps running (supervisor pid ${state.pid})`);
        expect(run.output).toContain('penetrator sandbox down');
        expect(run.output).not.toContain('== teardown');
        expect(processStartTime(state.pid)).toBeDefined();
        const status = await penetrator(['sandbox', 'status'], SANDBOX_TIMEOUT_MS, env);
        expect(status.output).toContain(`(supervisor pid ${state.pid})`);

        const down = await penetrator(['sandbox', 'down'], SANDBOX_TIMEOUT_MS, env);

        expect(down).toMatchObject({ status: 0 });
        expect(state.workDirs.filter((dir) => existsSync(dir))).toEqual([]);
        await expectDemoSandboxGone(run.output);
      } finally {
        await penetrator(['sandbox', 'down'], SANDBOX_TIMEOUT_MS, env).catch(() => undefined);
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
    DEMO_TIMEOUT_MS + SANDBOX_TIMEOUT_MS,
  );
});

describe('penetrator sandbox up, status, down', () => {
  let stateDir: string;
  let workDir: string;
  const sandbox = (...args: string[]): Promise<Run> =>
    penetrator(['sandbox', ...args], SANDBOX_TIMEOUT_MS, { PENETRATOR_SANDBOX_DIR: stateDir });

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'penetrator-sandbox-state-'));
    workDir = mkdtempSync(join(tmpdir(), 'penetrator-sandbox-test-'));
  });

  afterAll(async () => {
    // Whatever happened, nothing stays running.
    await sandbox('down').catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  const readState = (): SandboxState =>
    JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as SandboxState;

  it(
    'keeps a sandbox in a detached supervisor that penetrator run can use, and removes all of it on down',
    async () => {
      const up = await sandbox('up', '--machines', '1', '--subnet', SANDBOX_SUBNET);
      expect(up).toMatchObject({ status: 0 });
      const state = readState();
      expect(state).toMatchObject({
        subnet: SANDBOX_SUBNET,
        machines: [SANDBOX_MACHINE],
        proxyNode: 'vm-2-117-centos',
      });
      expect(up.output).toContain(`sandbox is up`);
      expect(up.output).toContain(`(supervisor pid ${state.pid})`);
      expect(up.output).toContain(
        `--kubeconfig ${state.kubeconfigPath} --credential ${state.credentialPath}`,
      );

      // The password is in the 0600 credential file and nowhere in the state or the log.
      const credentialFile = join(state.credentialPath, 'login-secret.yaml');
      expect(statSync(credentialFile).mode & 0o777).toBe(0o600);
      const passwordLine = /^passwd: (.*)$/m.exec(readFileSync(credentialFile, 'utf8'))?.[1] ?? '""';
      const password = JSON.parse(passwordLine) as string;
      expect(password.length).toBeGreaterThanOrEqual(20);
      expect(readFileSync(join(stateDir, 'state.json'), 'utf8')).not.toContain(password);
      expect(readFileSync(state.logPath, 'utf8')).not.toContain(password);
      expect(up.output).not.toContain(password);

      const status = await sandbox('status');
      expect(status.status).toBe(0);
      expect(status.output).toContain(
        `sandbox running since ${state.startedAt} (supervisor pid ${state.pid})`,
      );

      const again = await sandbox('up', '--machines', '1', '--subnet', SANDBOX_SUBNET);
      expect(again.status).toBe(1);
      expect(again.output).toContain(`a sandbox is running (supervisor pid ${state.pid})`);

      // What up told us to run works against it.
      const task = join(workDir, 'task.yaml');
      writeFileSync(
        task,
        [
          'apiVersion: nodetask.apps.superedge.io/v1beta1',
          'kind: NodeTask',
          'metadata: {name: sandbox-check}',
          `spec: {nodeNamePrefix: box, targetMachines: [${SANDBOX_MACHINE}], sshCredential: login-secret, proxyNode: vm-2-117-centos}`,
          '',
        ].join('\n'),
      );
      const run = await penetrator(
        [
          'run',
          '-f',
          task,
          '--kubeconfig',
          state.kubeconfigPath,
          '--credential',
          state.credentialPath,
          '--package',
          state.packagePath,
          '--poll',
          '1',
        ],
        SANDBOX_TIMEOUT_MS,
      );
      expect(run).toMatchObject({ status: 0 });
      expect(run.output).toMatch(
        new RegExp(`box-[a-z0-9]{6}\\s+${SANDBOX_MACHINE.replace(/\./g, '\\.')}\\s+installed`),
      );

      const down = await sandbox('down');
      expect(down).toMatchObject({ status: 0 });
      expect(down.output).toContain(`sandbox stopped (supervisor pid ${state.pid})`);
      expect(processStartTime(state.pid)).toBeUndefined();
      expect((await namespaces()).filter((n) => n.startsWith(`pn-${state.networkId}-`))).toEqual([]);
      expect(state.workDirs.filter((dir) => existsSync(dir))).toEqual([]);
      expect(existsSync(join(stateDir, 'state.json'))).toBe(false);
      expect(await routesTo(SANDBOX_SUBNET)).toEqual([]);
      expect((await sandbox('status')).output).toBe('no sandbox running\n');
    },
    3 * SANDBOX_TIMEOUT_MS,
  );

  it(
    'sweeps what a killed supervisor left when down runs',
    async () => {
      const up = await sandbox('up', '--machines', '1', '--subnet', SANDBOX_SUBNET);
      expect(up).toMatchObject({ status: 0 });
      const state = readState();
      process.kill(state.pid, 'SIGKILL');
      // The machines' sshd outlive a SIGKILLed supervisor; the control plane dies with it (pdeathsig).
      await vi.waitFor(() => expect(processStartTime(state.pid)).toBeUndefined(), {
        timeout: 10_000,
        interval: 100,
      });
      expect((await namespaces()).some((n) => n.startsWith(`pn-${state.networkId}-`))).toBe(true);

      expect(state.workDirs).toContain(dirname(state.packagePath));
      const down = await sandbox('down');

      expect(down).toMatchObject({ status: 0 });
      expect(down.output).toContain(
        `the sandbox supervisor (pid ${state.pid}) was gone; removed what it left behind`,
      );
      expect((await namespaces()).filter((n) => n.startsWith(`pn-${state.networkId}-`))).toEqual([]);
      expect(state.workDirs.filter((dir) => existsSync(dir))).toEqual([]);
      expect(await routesTo(SANDBOX_SUBNET)).toEqual([]);
      expect((await sandbox('status')).output).toBe('no sandbox running\n');
    },
    2 * SANDBOX_TIMEOUT_MS,
  );
});
