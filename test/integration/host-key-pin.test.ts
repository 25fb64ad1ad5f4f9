import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally, type WorkflowRunResult } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { NODE_TASK_LABEL } from '../../lambdas/domain/contracts';
import { HOST_KEY_ANNOTATION } from '../../lambdas/domain/host-key-pin';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';

/**
 * Host keys pinned on first use, on the real cluster with real sshd machines and the synthesized
 * workflow: a machine installed once accepts only the key it presented then, through the proxy
 * node's Job and in direct mode alike. Its key then changes (as when someone else answers at its
 * address): the next task fails that node at once and runs nothing on it.
 */

const PASSWORD = 'pin-root-pw';
const SUBNET = '172.21.41.0/24';
const PROXIED_IP = '172.21.41.10';
const DIRECT_IP = '172.21.41.11';
const PROXY = 'pin-proxy';

let env: TestEnvironment;
let definition: object;
let workDir: string;
let core: CoreV1Api;

function nodeTask(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name },
    spec: { sshCredential: 'login-secret', nodeNamePrefix: 'pin', maxAttempts: 3, ...spec },
  };
}

const proxied = (spec: Record<string, unknown>) => ({
  proxyNode: PROXY,
  targetMachines: [PROXIED_IP],
  ...spec,
});
const direct = (spec: Record<string, unknown>) => ({ mode: 'direct', targetMachines: [DIRECT_IP], ...spec });

async function run(document: unknown): Promise<WorkflowRunResult> {
  const objectsPath = mkdtempSync(join(workDir, 'objects-'));
  const handlers = createLocalHandlers({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath: join(workDir, 'login-secret.yaml'),
    objectsPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath } },
  });
  return runWorkflowLocally({
    definition,
    input: { nodeTask: document },
    handlers,
    objects: new FileObjectStore(objectsPath),
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
  });
}

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

async function nodeAt(ip: string): Promise<V1Node> {
  const found = (await core.listNode()).items.filter((n) =>
    n.status?.addresses?.some((a) => a.type === 'InternalIP' && a.address === ip),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** `<type> <base64>` of the machine's host key now, from its public key file. */
function hostKey(target: EdgeMachine): string {
  return readFileSync(join(target.workDir, 'ssh_host_ed25519_key.pub'), 'utf8')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
}

/** Gives the machine a new host key; its sshd reads the key file for every connection. */
function rekey(target: EdgeMachine): void {
  const key = join(target.workDir, 'ssh_host_ed25519_key');
  rmSync(key, { force: true });
  rmSync(`${key}.pub`, { force: true });
  const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', target.name, '-f', key], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
}

/** What the machine's sshd accepted: a login that ran something there shows here first. */
function acceptedLogins(target: EdgeMachine): number {
  return readFileSync(join(target.workDir, 'sshd.log'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('Accepted password for root')).length;
}

function joinState(target: EdgeMachine): string {
  return readFileSync(join(target.stateDir, 'stand-in-join.json'), 'utf8');
}

function reasonOf(result: WorkflowRunResult, ip: string): string {
  const cause = result.cause ?? '';
  const start = cause.indexOf(`(${ip}): `);
  if (start < 0) throw new Error(`no reason for ${ip} in: ${cause}`);
  return cause.slice(start);
}

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        // Reachable from this process too, so direct mode installs the same site.
        reachableFromCloud: true,
        machines: [
          { ip: PROXIED_IP, password: PASSWORD },
          { ip: DIRECT_IP, password: PASSWORD },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-pin-'));
  writeFileSync(join(workDir, 'login-secret.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  definition = await loadSynthesizedDefinition();
});

afterAll(async () => {
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Runs a task that must succeed; the run's error is the message when it does not. */
async function succeeds(document: unknown): Promise<void> {
  const result = await run(document);
  if (result.status !== 'SUCCEEDED') throw new Error(`${result.error}: ${result.cause}`);
}

/** The second task fails the machine at once (one attempt of three), with nothing run there. */
async function expectRefused(target: EdgeMachine, document: unknown, installed: V1Node): Promise<void> {
  const logins = acceptedLogins(target);
  const state = joinState(target);
  const result = await run(document);

  expect(result.status).toBe('FAILED');
  const reason = reasonOf(result, target.ip);
  expect(reason).toContain(
    `attempt 1: exit code 3: arch: ssh: the host key of ${target.ip} does not match known_hosts`,
  );
  expect(acceptedLogins(target)).toBe(logins);
  expect(joinState(target)).toBe(state);
  const kept = await nodeAt(target.ip);
  expect(kept.metadata?.uid).toBe(installed.metadata?.uid);
  expect(kept.metadata?.labels?.[NODE_TASK_LABEL]).toBe(installed.metadata?.labels?.[NODE_TASK_LABEL]);
}

describe('host keys pinned on first use', () => {
  it.each([
    ['through the proxy node', PROXIED_IP, 'proxied', proxied],
    ['in direct mode', DIRECT_IP, 'direct', direct],
  ])(
    '%s: records the key first seen, and refuses the machine once its key changed',
    async (_how, ip, tag, spec) => {
      const target = machine(ip);
      await succeeds(nodeTask(`pin-${tag}-first`, spec({})));
      const installed = await nodeAt(ip);
      expect(installed.metadata?.annotations?.[HOST_KEY_ANNOTATION]).toBe(hostKey(target));

      rekey(target);
      await expectRefused(target, nodeTask(`pin-${tag}-second`, spec({})), installed);

      // The operator vouches for the new key: given as known hosts, it is accepted beside the pin.
      await succeeds(nodeTask(`pin-${tag}-third`, spec({ knownHosts: `${ip} ${hostKey(target)}\n` })));
      expect((await nodeAt(ip)).metadata?.labels?.[NODE_TASK_LABEL]).toMatch(
        new RegExp(`^pin-${tag}-third-`),
      );
    },
  );
});
