/**
 * The original's approach, re-created on the same cluster, N, T and failure rate (`--compare-original`):
 * SuperEdge Penetrator v0.9.0 installs from ONE Job whose process keeps at most 5 installs running
 * (pkg/penetrator/job/addnode.go: a channel of capacity `--nodes`, default 5), each one
 * get-Node → install over SSH → label the Node; its controller re-examines the NodeTask on a 60 s
 * informer resync and, while Nodes are missing, lists the labelled Nodes, rewrites the job's
 * ConfigMap with the remaining ones and creates the Job again
 * (pkg/penetrator/operator/controller/controller.go). docs/performance.md says why this is a
 * re-creation rather than the original's binary, and what differs.
 *
 * The install itself is the same simulated install as ours (the same T, the same hash-chosen
 * failures, the Node registered as the stand-in join does, by the machine's identity, not counted);
 * the Job's and the controller's requests go to the apiserver under identities of their own, which
 * the audit log counts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import type { Kube } from '../../lambdas/ports';
import { startControlPlane } from '../../sandbox/control-plane';
import { failsByName, registerJoinedNode } from '../../sandbox/kubelet/simulated-install';
import { requestsByUser } from './audit';
import { figures, idealSeconds, type RunCounts } from './figures';
import { benchMachineIp } from './workload';

export interface OriginalParameters {
  /** Installs at once in the Job (`--nodes`, default 5). */
  concurrency: number;
  /** The controller's informer resync. */
  resyncSeconds: number;
}

/**
 * The original's parameters as its source states them, from a checkout of its repository: the
 * re-creation follows the code, not a recollection of it.
 */
export function readOriginalParameters(dir: string): OriginalParameters {
  const read = (path: string): string => {
    try {
      return readFileSync(join(dir, path), 'utf8');
    } catch {
      throw new Error(
        `--compare-original: ${join(dir, path)} is missing; expected a checkout of superedge/superedge`,
      );
    }
  };
  const options = read('cmd/penetrator-job/app/options/options.go');
  const controller = read('pkg/penetrator/operator/controller/controller.go');
  const concurrency = /\bNodes:\s*(\d+)/.exec(options)?.[1];
  const resync = /AddEventHandlerWithResyncPeriod\([\s\S]*?\},\s*(\d+)\s*\*\s*time\.Second\)/.exec(
    controller,
  )?.[1];
  if (!concurrency || !resync) {
    throw new Error(
      "--compare-original: the job's default --nodes or the controller's resync period was not found",
    );
  }
  return { concurrency: Number(concurrency), resyncSeconds: Number(resync) };
}
const JOB_USER = 'superedge-penetrator-job';
const CONTROLLER_USER = 'superedge-penetrator-controller';
const NAMESPACE = 'edge-system';
const NODE_LABEL = 'superedge.io/nodetask';

export interface OriginalBenchOptions {
  nodes: number;
  concurrency: number;
  installSeconds: number;
  failureRate: number;
  original: OriginalParameters;
  progress?: (line: string) => void;
}

export interface OriginalBenchResult {
  original: OriginalParameters;
  counts: RunCounts;
  installed: number;
  failed: number;
  rounds: number;
}

/** One Job's run: at most 5 installs at once over the remaining nodes; the names that failed. */
async function jobRun(
  job: Kube,
  admin: CoreV1Api,
  remaining: Map<string, string>,
  round: number,
  opts: OriginalBenchOptions,
): Promise<string[]> {
  const failed: string[] = [];
  const queue = [...remaining.entries()];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, ip] = next;
      await job.get({ kind: 'Node', name });
      await sleep(opts.installSeconds * 1000);
      // The same draw as the kubelet's simulated install: a name per attempt.
      if (failsByName(`original-${round}-${name}`, opts.failureRate)) {
        failed.push(name);
        continue;
      }
      await registerJoinedNode(admin, { name, ip });
      await job.mergePatch({ kind: 'Node', name }, { metadata: { labels: { [NODE_LABEL]: 'bench' } } });
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.original.concurrency, queue.length) }, worker));
  return failed;
}

/** The controller's part of one round: which nodes are still missing, the job's config, the Job. */
async function controllerRound(
  controller: Kube,
  wanted: Map<string, string>,
  round: number,
): Promise<Map<string, string>> {
  const labelled = await controller.list({ kind: 'Node', labelSelector: `${NODE_LABEL}=bench` });
  const remaining = new Map(wanted);
  for (const node of labelled) remaining.delete(node.metadata.name);
  if (remaining.size === 0) return remaining;
  const config = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `original-job-conf-${round}`, namespace: NAMESPACE },
    data: { nodes: JSON.stringify(Object.fromEntries(remaining)) },
  };
  await controller.create(config);
  // The Job object as the controller creates it, suspended: here its process runs in the bench.
  await controller.create({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `original-add-nodes-${round}`, namespace: NAMESPACE },
    spec: {
      suspend: true,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'job', image: 'superedge/penetrator-job:v0.9.0' }],
        },
      },
    },
  });
  return remaining;
}

/** The original retries without end; the bench stops after as many runs as ours has attempts. */
const MAX_ROUNDS = 3;

/** Job runs until every node is in, each failed one followed by the resync and the controller's round. */
async function runRounds(
  controller: Kube,
  job: Kube,
  admin: CoreV1Api,
  wanted: Map<string, string>,
  opts: OriginalBenchOptions,
): Promise<{ rounds: number; failed: number }> {
  let remaining = await controllerRound(controller, wanted, 0);
  let rounds = 0;
  let failed = 0;
  while (remaining.size > 0 && rounds < MAX_ROUNDS) {
    rounds += 1;
    failed = (await jobRun(job, admin, remaining, rounds, opts)).length;
    if (failed === 0 || rounds === MAX_ROUNDS) break;
    // The failed Job is looked at again on the controller's next informer resync.
    await sleep(opts.original.resyncSeconds * 1000);
    remaining = await controllerRound(controller, wanted, rounds);
  }
  return { rounds, failed };
}

export async function runOriginalBench(opts: OriginalBenchOptions): Promise<OriginalBenchResult> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cp = await startControlPlane({ auditedUsers: [JOB_USER, CONTROLLER_USER] });
  try {
    const adminConfig = new KubeConfig();
    adminConfig.loadFromString(cp.kubeconfigYaml);
    const admin = adminConfig.makeApiClient(CoreV1Api);
    const job = kubeFromKubeconfig('bench', cp.userKubeconfigs[JOB_USER]!);
    const controller = kubeFromKubeconfig('bench', cp.userKubeconfigs[CONTROLLER_USER]!);
    const wanted = new Map(
      Array.from({ length: opts.nodes }, (_, i) => [`bench-${i.toString(36)}`, benchMachineIp(i)] as const),
    );
    progress(
      `the original's approach: ${opts.nodes} nodes, ${opts.original.concurrency} at once from one Job, ` +
        `${opts.installSeconds} s each, a ${opts.original.resyncSeconds} s resync after a failed run…`,
    );
    let peakRss = process.memoryUsage.rss();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 250);
    const started = performance.now();
    let outcome: { rounds: number; failed: number };
    try {
      outcome = await runRounds(controller, job, admin, wanted, opts);
    } finally {
      clearInterval(sampler);
    }
    const { rounds, failed } = outcome;
    const wallSeconds = (performance.now() - started) / 1000;
    const requests = await requestsByUser(cp.auditLogPath!);
    return {
      original: opts.original,
      installed: opts.nodes - failed,
      failed,
      rounds,
      counts: {
        nodes: opts.nodes,
        concurrency: opts.concurrency,
        installSeconds: opts.installSeconds,
        wallSeconds,
        apiserverRequests: (requests.get(JOB_USER) ?? 0) + (requests.get(CONTROLLER_USER) ?? 0),
        // The original never polls: its Job waits on each SSH session.
        apiserverPollRequests: 0,
        transitions: 0,
        pollTransitions: 0,
        lambdaInvocations: 0,
        lambdaGbSeconds: 0,
        runnerPeakRssBytes: peakRss,
        bundles: [],
      },
    };
  } finally {
    await cp.stop();
  }
}

/** Figures with no meaning for an in-cluster Job (no workflow, no Lambda, no AWS bill). */
const NOT_APPLICABLE = new Set([
  'state_transitions_per_node',
  'state_transitions_per_node_excl_polls',
  'lambda_invocations_per_node',
  'aws_cost_per_1000_nodes_usd',
  'largest_bundle_bytes',
  'slowest_cold_load_ms',
]);

/** The original's lines, `original.`-prefixed, then how its time compares with ours. */
export function originalReport(original: OriginalBenchResult, oursWallSeconds: number): string {
  const lines = [
    `original.installed=${original.installed}`,
    `original.failed=${original.failed}`,
    `original.rounds=${original.rounds}`,
    `original.concurrency=${original.original.concurrency}`,
    `original.resync_s=${original.original.resyncSeconds}`,
    `original.ideal_s_at_its_concurrency=${idealSeconds(original.counts.nodes, original.original.concurrency, original.counts.installSeconds)}`,
    ...figures(original.counts).map(
      ([name, value]) => `original.${name}=${NOT_APPLICABLE.has(name) ? 'n/a' : value}`,
    ),
    `original_over_ours_wall=${(original.counts.wallSeconds / oursWallSeconds).toFixed(2)}`,
  ];
  return lines.join('\n');
}
