/**
 * The benchmark on the real cluster: the synthesized definition run locally (each Lambda's bundle in
 * warm Node.js 24 processes) against the sandbox's real control plane, with the test kubelet's
 * simulated install mode (each install Pod takes T seconds, then registers its Node as the stand-in
 * join does; a fraction F fails). Prints one `name=value` line per figure (figures.ts).
 *
 *   npm run bench -- --nodes N --concurrency C --install-seconds T [--failure-rate F] [--proxies P]
 *                    [--poll-seconds S] [--compare-original DIR]
 *
 * The product's requests are counted by the apiserver (an audit log filtered to the product's
 * identities): the check-install function gets an identity of its own, so its requests (the polls)
 * are told from the rest.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { synthesizeAssembly } from '../../cli/local/assembly';
import { createBundledHandlers } from '../../cli/local/bundled-handlers';
import { runWorkflowLocally } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import type { LambdaName, WorkflowHandler } from '../../lambdas/domain/contracts';
import { installNodeTaskCrd } from '../../lambdas/use-cases/install-crd';
import { startControlPlane } from '../../sandbox/control-plane';
import { startTestKubelet } from '../../sandbox/kubelet';
import { requestsByUser } from './audit';
import { bundleFigures } from './bundles';
import { figures, formatFigures, type RunCounts } from './figures';
import { benchNodeTask, pollStates } from './workload';

// The warning about the AWS SDK's 2027 releases on Node < 22 would only clutter the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PRODUCT_USER = 'penetrator-bench';
const POLL_USER = 'penetrator-bench-poll';

export interface ClusterBenchOptions {
  nodes: number;
  concurrency: number;
  installSeconds: number;
  failureRate: number;
  proxies: number;
  pollSeconds?: number;
  /** Warm processes per Lambda (Lambda itself scales out; a laptop has a few cores). */
  lambdaProcesses: number;
  /** Cold loads per bundle, the fastest kept. Default 3. */
  coldLoadRuns?: number;
  /** Receives progress lines (stderr by default), never figures. */
  progress?: (line: string) => void;
}

export interface ClusterBenchResult {
  counts: RunCounts;
  installed: number;
  failed: number;
  status: string;
}

function option(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  const parsed = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new Error(`--${name}: expected a number from ${min} to ${max}; received ${value}`);
  }
  return parsed;
}

export function parseBenchArgs(argv: string[]): ClusterBenchOptions & { compareOriginal?: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      concurrency: { type: 'string' },
      'install-seconds': { type: 'string' },
      'failure-rate': { type: 'string' },
      proxies: { type: 'string' },
      'poll-seconds': { type: 'string' },
      'lambda-processes': { type: 'string' },
      'compare-original': { type: 'string' },
    },
    strict: true,
  });
  const nodes = option(values.nodes, 'nodes', 100, 1, 100_000);
  return {
    nodes,
    concurrency: option(values.concurrency, 'concurrency', 10, 1, 1000),
    installSeconds: option(values['install-seconds'], 'install-seconds', 30, 0, 3600),
    failureRate: option(values['failure-rate'], 'failure-rate', 0, 0, 1),
    proxies: option(values.proxies, 'proxies', 1, 1, 50),
    ...(values['poll-seconds'] === undefined
      ? {}
      : { pollSeconds: option(values['poll-seconds'], 'poll-seconds', 15, 5, 300) }),
    lambdaProcesses: option(values['lambda-processes'], 'lambda-processes', 4, 1, 32),
    ...(values['compare-original'] === undefined ? {} : { compareOriginal: values['compare-original'] }),
  };
}

/** Counts each handler's invocations around the handlers the runner calls. */
function counted(
  handlers: Record<LambdaName, WorkflowHandler>,
  invocations: { value: number },
): Record<LambdaName, WorkflowHandler> {
  const wrapped = {} as Record<LambdaName, WorkflowHandler>;
  for (const [name, handler] of Object.entries(handlers) as Array<[LambdaName, WorkflowHandler]>) {
    wrapped[name] = (payload) => {
      invocations.value += 1;
      return handler(payload);
    };
  }
  return wrapped;
}

export async function runClusterBench(opts: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const undo: Array<() => Promise<void> | void> = [];
  try {
    progress('synthesizing the stack and its bundles…');
    const assembly = await synthesizeAssembly();
    undo.push(() => assembly.dispose());
    const bundles = bundleFigures(assembly.functions, opts.coldLoadRuns);

    progress('starting the control plane (audited) and the test kubelet (simulated installs)…');
    const cp = await startControlPlane({ auditedUsers: [PRODUCT_USER, POLL_USER] });
    undo.push(() => cp.stop());
    await installNodeTaskCrd(kubeFromKubeconfig('bench', cp.kubeconfigYaml));
    const proxies = Array.from({ length: opts.proxies }, (_, i) => `bench-proxy-${i}`);
    const kubelet = await startTestKubelet(cp, {
      nodes: proxies.map((name, i) => ({
        name,
        addresses: [{ type: 'InternalIP', address: `127.0.${Math.floor(i / 250)}.${(i % 250) + 2}` }],
      })),
      simulateInstall: { seconds: opts.installSeconds, failureRate: opts.failureRate },
    });
    undo.push(() => kubelet.stop());

    const workDir = mkdtempSync(join(tmpdir(), 'penetrator-bench-'));
    undo.push(() => rmSync(workDir, { recursive: true, force: true }));
    const credentialPath = join(workDir, 'login-secret.yaml');
    // A password nobody uses: simulated installs never log in.
    writeFileSync(credentialPath, 'passwd: bench-not-used\n', { mode: 0o600 });
    // The work list and the results, as the work bucket holds them in AWS.
    const objectsPath = join(workDir, 'objects');
    mkdirSync(objectsPath, { mode: 0o700 });

    let gbSeconds = 0;
    const bundledOptions = (user: string) => ({
      maxProcesses: opts.lambdaProcesses,
      onDuration: (name: LambdaName, ms: number) => {
        const memoryMb = runtimes[user]?.artifacts[name].memorySize ?? 0;
        gbSeconds += (memoryMb / 1024) * (ms / 1000);
      },
    });
    const deps = (user: string) => ({
      kubeconfigYaml: cp.userKubeconfigs[user]!,
      credentialPath,
      objectsPath,
      settings: { packageSource: { kind: 'none' as const } },
    });
    const runtimes: Record<string, ReturnType<typeof createBundledHandlers>> = {};
    runtimes[PRODUCT_USER] = createBundledHandlers(
      assembly,
      deps(PRODUCT_USER),
      bundledOptions(PRODUCT_USER),
    );
    undo.push(() => runtimes[PRODUCT_USER]?.close());
    runtimes[POLL_USER] = createBundledHandlers(assembly, deps(POLL_USER), bundledOptions(POLL_USER));
    undo.push(() => runtimes[POLL_USER]?.close());
    const invocations = { value: 0 };
    const handlers = counted(
      { ...runtimes[PRODUCT_USER].handlers, checkInstall: runtimes[POLL_USER].handlers.checkInstall },
      invocations,
    );

    const polls = pollStates(assembly.definition);
    let pollTransitions = 0;
    progress(
      `running ${opts.nodes} nodes, ${opts.concurrency} at once, ${opts.installSeconds} s each, ` +
        `failure rate ${opts.failureRate}, ${opts.proxies} proxy node(s)…`,
    );
    // The runner's own memory while it runs the execution (the synthesis before it is not counted).
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 250);
    undo.push(() => clearInterval(sampler));
    const started = performance.now();
    const result = await runWorkflowLocally({
      definition: assembly.definition,
      input: { nodeTask: benchNodeTask(opts, proxies) },
      handlers,
      objects: new FileObjectStore(objectsPath),
      onEvent: (event) => {
        if ((event.type === 'StateEntered' || event.type === 'StateRetried') && polls.has(event.state.name)) {
          pollTransitions += 1;
        }
      },
    });
    const wallSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (result.status !== 'SUCCEEDED') {
      progress(`the execution ended ${result.status}: ${result.error}: ${result.cause}`);
    }
    const summary = (result.output as { summary?: { installed?: number; failed?: number } } | undefined)
      ?.summary;

    const requests = await requestsByUser(cp.auditLogPath!);
    const pollRequests = requests.get(POLL_USER) ?? 0;
    return {
      status: result.status,
      installed: summary?.installed ?? 0,
      failed: summary?.failed ?? 0,
      counts: {
        nodes: opts.nodes,
        concurrency: opts.concurrency,
        installSeconds: opts.installSeconds,
        wallSeconds,
        apiserverRequests: (requests.get(PRODUCT_USER) ?? 0) + pollRequests,
        apiserverPollRequests: pollRequests,
        transitions: result.transitions,
        pollTransitions,
        lambdaInvocations: invocations.value,
        lambdaGbSeconds: gbSeconds,
        runnerPeakRssBytes: peakRss,
        bundles,
      },
    };
  } finally {
    for (const step of undo.reverse()) await step();
  }
}

/** The lines a run prints: its outcome, then every figure. */
export function report(result: ClusterBenchResult, prefix = ''): string {
  return [
    `${prefix}status=${result.status}`,
    `${prefix}installed=${result.installed}`,
    `${prefix}failed=${result.failed}`,
    formatFigures(figures(result.counts), prefix),
    // Which bundle the largest and slowest figures come from.
    ...result.counts.bundles.map(
      (b) =>
        `${prefix}bundle.${b.name}.bytes=${b.bytes}\n${prefix}bundle.${b.name}.cold_load_ms=${b.coldLoadMs}`,
    ),
  ].join('\n');
}
