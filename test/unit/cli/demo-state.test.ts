import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireOwnership,
  processStartTime,
  readOwner,
  releaseOwnership,
  SandboxBusyError,
  sandboxStateDir,
  statePaths,
  writeState,
  type SandboxState,
} from '../../../cli/sandbox/state';
import { usageHints } from '../../../cli/sandbox/usage';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'penetrator-state-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const state: SandboxState = {
  pid: 4242,
  startedAt: '2026-11-24T20:00:00.000Z',
  kubeconfigPath: '/tmp/penetrator-cp-abc/admin.kubeconfig',
  credentialPath: '/tmp/penetrator-sandbox-def/credentials',
  packagePath: '/tmp/penetrator-package-ghi/edge-install-package.tgz',
  proxyNode: 'vm-2-117-centos',
  subnet: '172.21.3.0/24',
  machines: ['172.21.3.194', '172.21.3.195'],
  logPath: '/run/penetrator-sandbox/supervisor.log',
  workDirs: ['/tmp/penetrator-sandbox-def'],
  networkId: 'abc123',
};

describe('sandbox state', () => {
  it('lives in /run for root, else the runtime dir or /tmp, unless PENETRATOR_SANDBOX_DIR names one', () => {
    expect(sandboxStateDir({}, true)).toBe('/run/penetrator-sandbox');
    expect(sandboxStateDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, false)).toBe(
      '/run/user/1000/penetrator-sandbox',
    );
    expect(sandboxStateDir({}, false)).toBe('/tmp/penetrator-sandbox');
    expect(sandboxStateDir({ PENETRATOR_SANDBOX_DIR: '/x/y' }, true)).toBe('/x/y');
  });

  it('gives the sandbox to one live owner and names it to the next', () => {
    // The parent process is alive for the whole test: it stands for another sandbox's supervisor.
    const other = { pid: process.ppid, start: processStartTime(process.ppid)!, role: 'supervisor' as const };
    writeFileSync(statePaths(dir).owner, JSON.stringify(other));

    expect(() => acquireOwnership(dir, 'demo')).toThrow(SandboxBusyError);
    expect(() => acquireOwnership(dir, 'demo')).toThrow(
      `a sandbox is running (supervisor pid ${process.ppid}); stop it first with: penetrator sandbox down`,
    );
    releaseOwnership(dir);
    expect(readOwner(dir)).toEqual(other);
  });

  it('takes over an owner file left by a dead process, and releases only its own', () => {
    const dead = spawnSync('true').pid;
    writeFileSync(statePaths(dir).owner, JSON.stringify({ pid: dead, start: '1', role: 'supervisor' }));

    const me = acquireOwnership(dir, 'demo');

    expect(me).toMatchObject({ pid: process.pid, role: 'demo' });
    expect(readOwner(dir)).toEqual(me);
    expect(statSync(statePaths(dir).owner).mode & 0o777).toBe(0o600);
    releaseOwnership(dir);
    expect(readOwner(dir)).toBeUndefined();
  });

  it('a pid reused by another process is not the owner', () => {
    writeFileSync(
      statePaths(dir).owner,
      JSON.stringify({ pid: process.ppid, start: 'not-its-start-time', role: 'supervisor' }),
    );
    expect(acquireOwnership(dir, 'supervisor').pid).toBe(process.pid);
  });

  it('writes the state file 0600 with paths and addresses only', () => {
    writeState(dir, state);
    const text = readFileSync(statePaths(dir).state, 'utf8');
    expect(JSON.parse(text)).toEqual(state);
    expect(statSync(statePaths(dir).state).mode & 0o777).toBe(0o600);
  });

  it('tells how to run the example against the sandbox and how to stop it', () => {
    const text = usageHints(state);
    expect(text).toContain(
      'penetrator run -f examples/add-nodes.yaml --kubeconfig /tmp/penetrator-cp-abc/admin.kubeconfig --credential /tmp/penetrator-sandbox-def/credentials --package /tmp/penetrator-package-ghi/edge-install-package.tgz',
    );
    expect(text).toContain('machines 172.21.3.194 172.21.3.195');
    expect(text).toContain('penetrator sandbox down');
  });
});
