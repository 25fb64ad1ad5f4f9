import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LambdaName, SummarizeInput, WorkflowHandler } from '../../lambdas/domain/contracts';
import { loadSynthesizedDefinition } from '../../cli/local/definition';
import { runWorkflowLocally } from '../../cli/local/run-workflow';
import { fileSha256 } from '../../cli/local/package-source';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { ErrorNames } from '../../lambdas/errors';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import { readMapResults } from '../../lambdas/use-cases/summarize';
import type { EdgeMachine } from '../../sandbox/network';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { readJoinJournal } from '../support/join-journal';

/**
 * The install package checked against its sha256 on the real cluster with real sshd machines and
 * the synthesized workflow: bytes that differ from the deployment's digest fail the node at once
 * (one attempt of three) with PackageChecksumMismatch, and nothing runs on the machine, through the
 * proxy node's Job and in direct mode alike.
 */

const PASSWORD = 'integrity-root-pw';
const SUBNET = '172.21.90.0/24';
const PROXIED_IP = '172.21.90.10';
const DIRECT_IP = '172.21.90.11';
const PROXY = 'integrity-proxy';

let env: TestEnvironment;
let definition: object;
let workDir: string;

beforeAll(async () => {
  env = await startTestEnvironment({
    sites: [
      {
        subnet: SUBNET,
        proxyNode: PROXY,
        reachableFromCloud: true,
        machines: [
          { ip: PROXIED_IP, password: PASSWORD },
          { ip: DIRECT_IP, password: PASSWORD },
        ],
      },
    ],
  });
  workDir = mkdtempSync(join(tmpdir(), 'penetrator-integrity-'));
  writeFileSync(join(workDir, 'login-secret.yaml'), `passwd: ${PASSWORD}\n`, { mode: 0o600 });
  definition = await loadSynthesizedDefinition();
});

afterAll(async () => {
  await env?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function machine(ip: string): EdgeMachine {
  return env.network.sites[0]!.machines.find((m) => m.ip === ip)!;
}

async function run(name: string, spec: Record<string, unknown>, sha256: string) {
  const objectsPath = mkdtempSync(join(workDir, 'objects-'));
  const objects = new FileObjectStore(objectsPath);
  const real = createLocalHandlers({
    kubeconfigYaml: env.product.kubeconfigYaml,
    credentialPath: join(workDir, 'login-secret.yaml'),
    objectsPath,
    settings: { packageSource: { kind: 'hostPath', path: env.installPackagePath, sha256 } },
  });
  let nodeResults: Awaited<ReturnType<typeof readMapResults>> = [];
  const handlers: Record<LambdaName, WorkflowHandler> = {
    ...real,
    summarize: async (payload) => {
      nodeResults = await readMapResults(objects, (payload as SummarizeInput).results);
      return real.summarize(payload);
    },
  };
  const result = await runWorkflowLocally({
    definition,
    input: {
      nodeTask: {
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name },
        spec: { sshCredential: 'login-secret', nodeNamePrefix: 'integrity', maxAttempts: 3, ...spec },
      },
    },
    handlers,
    objects,
    pollSeconds: 0.5,
    retryIntervalSeconds: 0.5,
  });
  return { result, nodeResults };
}

describe('package integrity', () => {
  it.each([
    ['through the proxy node', PROXIED_IP, 'integrity-proxied', { proxyNode: PROXY }],
    ['in direct mode', DIRECT_IP, 'integrity-direct', { mode: 'direct' }],
  ])(
    '%s: a package whose bytes differ from its sha256 fails the node at once, and nothing runs on it',
    async (_how, ip, name, spec) => {
      const target = machine(ip);
      const published = fileSha256(env.installPackagePath).replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const { result, nodeResults } = await run(name, { ...spec, targetMachines: [ip] }, published);

      expect(result).toMatchObject({ status: 'FAILED', error: ErrorNames.NodesFailed });
      expect(result.cause).toContain(`(${ip}) attempt 1: exit code 6: package: the install package`);
      expect(result.cause).toContain(`does not match its sha256 (expected ${published}`);
      expect(nodeResults.map((r) => r.error)).toEqual([ErrorNames.PackageChecksumMismatch]);
      expect(readJoinJournal(target)).toEqual([]);
    },
  );

  it('installs the machine when the bytes are the ones named', async () => {
    const { result } = await run(
      'integrity-matching',
      { proxyNode: PROXY, targetMachines: [PROXIED_IP] },
      fileSha256(env.installPackagePath),
    );
    if (result.status !== 'SUCCEEDED') throw new Error(`${result.error}: ${result.cause}`);
    expect(readJoinJournal(machine(PROXIED_IP)).map((l) => l.event)).toEqual(['start', 'end']);
  });
});
