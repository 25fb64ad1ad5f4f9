/**
 * The sandbox as the demo uses it: started in the demo's own process (its processes die with the
 * demo), or, with --keep, by a detached supervisor so that it outlives the demo. Either way the demo
 * sees the same paths and one stop().
 */
import { readFileSync } from 'node:fs';
import type { TestEnvironment } from '../../sandbox/env';
import {
  createWorkDir,
  generatePassword,
  startSandboxEnvironment,
  stopSandbox,
  writeCredential,
  type SandboxOptions,
} from './environment';
import { acquireOwnership, releaseOwnership, type SandboxState } from './state';
import { startSupervisor, stopSupervisor } from './supervisor';

export interface DemoSandbox {
  kubeconfigPath: string;
  kubeconfigYaml: string;
  packagePath: string;
  /** Namespaces of the sandbox are named pn-<networkId>-…. */
  networkId: string;
  /** The control plane's temp dir (its logs are in logs/). */
  controlPlaneDir: string;
  /** Set once the credential file exists. */
  credentialPath?: string;
  /** Present when a supervisor keeps the sandbox. */
  supervisor?: SandboxState;
  /** Writes the credential file; a supervisor has written it already. */
  writeCredential(): string;
  stop(): Promise<void>;
}

/** Starts the sandbox in this process; this process owns it until stop(). */
export async function startInProcess(options: SandboxOptions, stateDir: string): Promise<DemoSandbox> {
  acquireOwnership(stateDir, 'demo');
  let workDir: string | undefined;
  let env: TestEnvironment | undefined;
  try {
    workDir = createWorkDir();
    const password = generatePassword();
    env = await startSandboxEnvironment(options, password);
    const started = env;
    const dir = workDir;
    const sandbox: DemoSandbox = {
      // The product's own identity, bound to the shipped RBAC, as an operator registers it.
      kubeconfigPath: started.product.kubeconfigPath,
      kubeconfigYaml: started.product.kubeconfigYaml,
      packagePath: started.installPackagePath,
      networkId: started.network.id,
      controlPlaneDir: started.cp.dir,
      writeCredential() {
        sandbox.credentialPath = writeCredential(dir, password, options.subnet);
        return sandbox.credentialPath;
      },
      async stop() {
        try {
          await stopSandbox(started, dir);
        } finally {
          releaseOwnership(stateDir);
        }
      },
    };
    return sandbox;
  } catch (error) {
    await stopSandbox(env, workDir).catch(() => undefined);
    releaseOwnership(stateDir);
    throw error;
  }
}

/** Starts the sandbox through a detached supervisor, which keeps it after the demo ends. */
export async function startSupervised(options: SandboxOptions, stateDir: string): Promise<DemoSandbox> {
  const state = await startSupervisor(options, stateDir);
  const controlPlaneDir = state.workDirs.find((d) => /penetrator-cp-/.test(d)) ?? '';
  return {
    kubeconfigPath: state.kubeconfigPath,
    kubeconfigYaml: readFileSync(state.kubeconfigPath, 'utf8'),
    packagePath: state.packagePath,
    networkId: state.networkId,
    controlPlaneDir,
    credentialPath: state.credentialPath,
    supervisor: state,
    writeCredential: () => state.credentialPath,
    async stop() {
      await stopSupervisor(stateDir);
    },
  };
}
