/**
 * `penetrator demo` (what `npm start` runs): the product end to end on this machine, for real. It
 * builds the control-plane binaries, starts the sandbox (a real control plane, the proxy node the
 * examples name, two real sshd machines at the examples' addresses behind a one-way edge network),
 * runs examples/add-nodes.yaml with `penetrator run` and then examples/reinstall-nodes.yaml the
 * original's way, `kubectl apply -f` picked up by `penetrator sync` — both doors, each on the deployed
 * workflow definition — lists the cluster's nodes, and tears the sandbox down — also on Ctrl-C and on
 * failure.
 */
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { kubectl } from '../../sandbox/kubectl';
import { runNodeTask, type RunDependencies } from '../commands/run';
import { syncLocally } from '../commands/sync';
import { LocalRuntimes } from '../local/local-runtime';
import { CliError, EXIT_FAILURE, printError } from '../output';
import { buildBinaries } from './binaries';
import { startInProcess, startSupervised, type DemoSandbox } from './demo-sandbox';
import { renderNodeListing } from './node-listing';
import { CREDENTIAL_NAME, DEFAULT_PROXY_NODE, DEFAULT_SUBNET, machineAddresses } from './options';
import { missingPrerequisites, systemProbe } from './prerequisites';
import { sandboxStateDir } from './state';
import { usageHints } from './usage';

export interface DemoOptions {
  keep?: boolean;
  poll: number;
}

const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const ADD_EXAMPLE = example('add-nodes.yaml');
const REINSTALL_EXAMPLE = example('reinstall-nodes.yaml');
/** Both examples are metadata.name "nodes": the NodeTask of that name is the task object. */
const TASK_NAME = 'nodes';
const DELETE_TIMEOUT_S = 60;
const STEPS = 7;

const out = (text: string): void => {
  process.stdout.write(text);
};

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Prints a numbered heading, runs the step, prints how long it took. */
class Steps {
  private count = 0;

  async run<T>(title: string, body: () => Promise<T> | T): Promise<T> {
    this.count += 1;
    out(`\n== [${this.count}/${STEPS}] ${title}\n`);
    const started = Date.now();
    try {
      const value = await body();
      out(`-- done in ${seconds(started)}\n`);
      return value;
    } catch (error) {
      out(`-- failed after ${seconds(started)}\n`);
      throw error;
    }
  }
}

/** Thrown when a step cannot go on; the message is printed, the sandbox torn down, exit 1. */
class DemoStepFailed extends Error {
  override readonly name = 'DemoStepFailed';
}

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

async function listNodes(kubeconfigYaml: string): Promise<V1Node[]> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml);
  return (await kc.makeApiClient(CoreV1Api).listNode()).items;
}

/**
 * Deletes the finished task as its users do, `kubectl delete nt`, in the foreground: kubectl returns
 * once the garbage collector has deleted what the NodeTask owns (the run's record, the Jobs, their
 * Pods, the script ConfigMap), so the reinstall starts on a clean slate.
 */
async function deleteFinishedTask(kubeconfigPath: string): Promise<void> {
  const args = ['delete', 'nt', TASK_NAME, '--cascade=foreground', `--timeout=${DELETE_TIMEOUT_S}s`];
  out(`$ kubectl ${args.join(' ')}\n`);
  const deleted = await kubectl(kubeconfigPath, args);
  out(deleted.stdout);
  if (deleted.code !== 0)
    throw new DemoStepFailed(`kubectl delete nt ${TASK_NAME} failed: ${deleted.stderr.trim()}`);
}

/** `kubectl get nt`, as a user checks a task: the original's status and the counts. */
async function showNodeTasks(kubeconfigPath: string): Promise<void> {
  for (const args of [
    ['get', 'nt'],
    ['get', 'nt', TASK_NAME, '-o', 'custom-columns=STATUS:status.nodetaskStatus'],
  ]) {
    out(`$ kubectl ${args.join(' ')}\n`);
    const shown = await kubectl(kubeconfigPath, args);
    out(shown.code === 0 ? shown.stdout : shown.stderr);
  }
}

/** `kubectl apply -f FILE`: the NodeTask is in the cluster; the sync starts it. */
async function applyInCluster(kubeconfigPath: string, file: string, name: string): Promise<void> {
  const args = ['apply', '-f', file];
  out(`$ kubectl apply -f examples/${name}\n`);
  const applied = await kubectl(kubeconfigPath, args);
  out(applied.stdout);
  if (applied.code !== 0)
    throw new DemoStepFailed(`kubectl apply -f ${name} failed: ${applied.stderr.trim()}`);
}

/** Both tasks run the deployed artifacts, synthesized once. */
function runDependencies(signal: AbortSignal, runtimes: LocalRuntimes): RunDependencies {
  return {
    openRuntime: (deps, choice) => runtimes.open(deps, choice),
    stdout: out,
    stderr: (text) => process.stderr.write(text),
    signal,
  };
}

/** One line (and the hint of a CliError); the stack only with PENETRATOR_DEBUG=1, as every verb. */
function reportFailure(error: unknown): void {
  if (error instanceof Error)
    printError(error.message, error instanceof CliError ? error.hint : undefined, error.stack);
  else printError(String(error));
}

/** Exit code of a process ended by `signal`, as shells report it. */
const signalExitCode = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? 130 : 143);

/** Runs the demo; returns its exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      // Exit hooks still kill the sandbox's processes and remove its network; the next start sweeps the rest.
      out(`\n${signal} again: exiting at once\n`);
      process.exit(signalExitCode(signal));
    }
    interrupted = signal;
    out(`\n${signal}: stopping the demo; the sandbox is torn down…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  let sandbox: DemoSandbox | undefined;
  let code = EXIT_FAILURE;
  try {
    const checkInterrupt = (): void => {
      if (interrupted) throw new Interrupted(interrupted);
    };
    sandbox = await demoSteps(options, controller.signal, checkInterrupt, (s) => (sandbox = s));
    code = 0;
  } catch (error) {
    code = interrupted ? signalExitCode(interrupted) : EXIT_FAILURE;
    if (!(error instanceof Interrupted)) reportFailure(error);
  } finally {
    code = await finish(sandbox, options, interrupted, code);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out(`\ndemo ${code === 0 ? 'succeeded' : 'failed'} in ${seconds(started)}\n`);
  return code;
}

/** Tears the sandbox down, or with --keep (and no interrupt) says how to use and stop it. */
async function finish(
  sandbox: DemoSandbox | undefined,
  options: DemoOptions,
  interrupted: NodeJS.Signals | undefined,
  code: number,
): Promise<number> {
  if (!sandbox) return code;
  if (options.keep && !interrupted && sandbox.supervisor) {
    out(
      `\n== the sandbox keeps running (supervisor pid ${sandbox.supervisor.pid})\n${usageHints(sandbox.supervisor)}`,
    );
    return code;
  }
  out('\n== teardown\n');
  const started = Date.now();
  try {
    await sandbox.stop();
    out(
      `-- sandbox removed in ${seconds(started)} (network pn-${sandbox.networkId}, ${sandbox.controlPlaneDir})\n`,
    );
    return code;
  } catch (error) {
    process.stderr.write(
      `error: tearing the sandbox down: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_FAILURE;
  }
}

async function demoSteps(
  options: DemoOptions,
  signal: AbortSignal,
  checkInterrupt: () => void,
  started: (sandbox: DemoSandbox) => void,
): Promise<DemoSandbox> {
  const steps = new Steps();
  await steps.run('prerequisites', () => {
    const missing = missingPrerequisites(systemProbe());
    for (const line of missing) process.stderr.write(`${line}\n`);
    if (missing.length > 0)
      throw new DemoStepFailed('the demo cannot run on this machine: see the lines above');
    out('root, ip, sshd, sshpass, ssh, go, nft, setpriv, openssl: present\n');
  });
  await steps.run('control-plane binaries (the first build compiles Kubernetes: several minutes)', () =>
    buildBinaries(out),
  );
  checkInterrupt();

  const machines = machineAddresses(DEFAULT_SUBNET, 2);
  const sandboxOptions = { subnet: DEFAULT_SUBNET, proxyNode: DEFAULT_PROXY_NODE, machines };
  const sandbox = await steps.run(
    `sandbox: site ${DEFAULT_SUBNET}, proxy node ${DEFAULT_PROXY_NODE}, machines ${machines.join(' ')}`,
    async () => {
      const stateDir = sandboxStateDir();
      const s = options.keep
        ? await startSupervised(sandboxOptions, stateDir)
        : await startInProcess(sandboxOptions, stateDir);
      started(s);
      out(`network pn-${s.networkId} (the site exists only inside its namespaces)\n`);
      out(`control plane ${s.controlPlaneDir} (logs in logs/)\nkubeconfig ${s.kubeconfigPath}\n`);
      return s;
    },
  );
  checkInterrupt();

  const credential = await steps.run(`credential ${CREDENTIAL_NAME} (a generated root password)`, () => {
    const path = sandbox.writeCredential();
    out(`${path}/${CREDENTIAL_NAME}.yaml (mode 0600; the password appears nowhere else)\n`);
    return path;
  });
  checkInterrupt();

  const runtimes = new LocalRuntimes();
  const deps = runDependencies(signal, runtimes);
  const local = {
    kubeconfig: sandbox.kubeconfigPath,
    credential,
    package: sandbox.packagePath,
    poll: options.poll,
  };
  const run = (file: string): Promise<number> => runNodeTask({ file, ...local }, deps);
  const sync = (): Promise<number> => {
    out(`$ penetrator sync --kubeconfig ${sandbox.kubeconfigPath} --credential … --package …\n`);
    return syncLocally(local, deps);
  };

  try {
    await steps.run(
      `nodetask/${TASK_NAME}: add ${machines.join(', ')} (examples/add-nodes.yaml)`,
      async () => {
        if ((await run(ADD_EXAMPLE)) !== 0) throw taskFailure('add-nodes.yaml', signal);
        out(`\n${renderNodeListing(await listNodes(sandbox.kubeconfigYaml))}\n`);
        await showNodeTasks(sandbox.kubeconfigPath);
      },
    );
    checkInterrupt();

    await steps.run(
      `nodetask/${TASK_NAME}: reinstall ${machines[0]} as edge-1mokvl (examples/reinstall-nodes.yaml, kubectl apply + penetrator sync)`,
      async () => {
        out(`deleting finished nodetask/${TASK_NAME} (and what it owns) before the reinstall\n`);
        await deleteFinishedTask(sandbox.kubeconfigPath);
        checkInterrupt();
        await applyInCluster(sandbox.kubeconfigPath, REINSTALL_EXAMPLE, 'reinstall-nodes.yaml');
        if ((await sync()) !== 0) throw taskFailure('reinstall-nodes.yaml', signal);
        await showNodeTasks(sandbox.kubeconfigPath);
      },
    );
    checkInterrupt();

    await steps.run('nodes of the cluster', async () => {
      out(renderNodeListing(await listNodes(sandbox.kubeconfigYaml)));
    });
  } finally {
    await runtimes.dispose();
  }
  return sandbox;
}

function taskFailure(example: string, signal: AbortSignal): Error {
  if (signal.aborted) return new Interrupted('interrupted');
  return new DemoStepFailed(`examples/${example} did not succeed (see its output above)`);
}
