/**
 * The built-in sandbox: the world of sandbox/ (a real control plane, a test kubelet as the
 * proxy node, real sshd machines behind a one-way edge network) started with the seed examples'
 * names, plus the SSH credential those examples name. Its processes die with the process that
 * started it; stop() removes everything it created.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_CLUSTER_NAME } from '../../lambdas/adapters/file-clusters';
import { startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import { CliError } from '../output';
import { CREDENTIAL_NAME } from './options';

export interface SandboxOptions {
  subnet: string;
  proxyNode: string;
  /** The machines' addresses inside the subnet. */
  machines: readonly string[];
}

/** A root password for the machines: 24 random characters, kept in memory and the 0600 file only. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Temp dir for the sandbox's own files; 0700 so only root reads what is in it. */
export function createWorkDir(): string {
  return mkdtempSync(join(tmpdir(), 'penetrator-sandbox-'));
}

/**
 * Writes the credential the examples name as the local credential store reads it: `<dir>/credentials/
 * login-secret.yaml` holding `passwd`, bound to the local cluster and the site's subnet as a stored
 * credential is (ADR 0016), mode 0600. Returns the directory, the value of --credential.
 */
export function writeCredential(workDir: string, password: string, subnet: string): string {
  const dir = join(workDir, 'credentials');
  mkdirSync(dir, { mode: 0o700 });
  // JSON quoting is valid YAML and keeps any character of the password literal.
  const text = [
    `passwd: ${JSON.stringify(password)}`,
    `clusters: [${LOCAL_CLUSTER_NAME}]`,
    `ranges: [${JSON.stringify(subnet)}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, `${CREDENTIAL_NAME}.yaml`), text, {
    mode: 0o600,
    flag: 'wx',
  });
  return dir;
}

/** The routes the host has for exactly `subnet` (any table, blackholes included). */
export function routesTo(subnet: string): string[] {
  const text = execFileSync('ip', ['-j', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  const routes = JSON.parse(text.trim() === '' ? '[]' : text) as Array<{
    dst?: string;
    dev?: string;
    type?: string;
  }>;
  return routes
    .filter((r) => r.dst === subnet)
    .map((r) => `${r.type ?? 'unicast'} ${r.dst} ${r.dev ?? ''}`.trim());
}

/**
 * Refuses a subnet the host already routes: another sandbox or test network holds it, and a second
 * network on the same addresses would fail half-built — or, tearing down, take the other's routes.
 */
export function assertSubnetFree(subnet: string): void {
  const routes = routesTo(subnet);
  if (routes.length > 0) {
    throw new CliError(
      `${subnet} is already routed on this host (${routes.join('; ')}): another sandbox or test network uses it`,
      undefined,
      'stop it first (penetrator sandbox down, or wait for the tests), or choose another --subnet',
    );
  }
}

/** Starts the network, control plane and proxy node; the machines accept root with `password`. */
export async function startSandboxEnvironment(
  options: SandboxOptions,
  password: string,
): Promise<TestEnvironment> {
  assertSubnetFree(options.subnet);
  return startTestEnvironment({
    sites: [
      {
        subnet: options.subnet,
        proxyNode: options.proxyNode,
        machines: options.machines.map((ip) => ({ ip, password })),
      },
    ],
  });
}

/** Stops `env` (if started) and removes `workDir`; gives up waiting after `timeoutMs`. */
export async function stopSandbox(
  env: TestEnvironment | undefined,
  workDir: string | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the sandbox did not stop within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  try {
    if (env) await Promise.race([env.stop(), timeout]);
  } finally {
    clearTimeout(timer);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  }
}
