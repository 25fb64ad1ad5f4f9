/**
 * `penetrator cluster add NAME --kubeconfig FILE` and `penetrator cluster list`: the target clusters
 * the deployment serves, each a kubeconfig in Secrets Manager. The kubeconfig is checked here first,
 * by the same rules as the API (lambdas/domain/kubeconfig.ts), so a refusal needs no round trip.
 */
import type { Command } from 'commander';
import { kubeconfigProblems } from '../../lambdas/domain/kubeconfig';
import { CLUSTER_NAME_RULE, isClusterName } from '../../lambdas/domain/name-rules';
import { CliError, EXIT_USAGE, parseOutputFormat, render } from '../output';
import type { ApiClient } from '../remote/api-client';
import {
  clientFrom,
  connect,
  processIo,
  withRemoteOptions,
  type ClientSource,
  type RemoteFlags,
  type RemoteIo,
} from '../remote/connect';
import { addExamples } from '../remote/help';
import { rangesFlag } from '../remote/bounds-flags';
import { readTextFile } from '../remote/inputs';
import { registerCrd } from './cluster-crd';
import { registerRbac } from './cluster-rbac';

export interface ClusterAddOptions extends RemoteFlags {
  kubeconfig: string;
  /** Repoint an already registered NAME at this kubeconfig (refused otherwise). */
  replace?: boolean;
  /** `CIDR,…`: the address ranges direct mode may reach in this cluster; without it, none. */
  directRanges?: string;
}

export interface ClusterListOptions extends RemoteFlags {
  output?: string;
}

const MAX_KUBECONFIG_BYTES = 1024 * 1024;
const FLATTEN_HINT =
  'embed them: kubectl config view --flatten --minify > cluster.kubeconfig, then add that file';

export function register(program: Command): void {
  const cluster = program.command('cluster').description('manage the clusters the deployment serves');
  const add = withRemoteOptions(
    cluster
      .command('add')
      .description('register a cluster under NAME from its kubeconfig')
      .argument('<name>', 'the name NodeTasks and --cluster use')
      .requiredOption('--kubeconfig <file>', "the cluster's kubeconfig, certificates embedded")
      .option('--replace', 'repoint an already registered NAME at this kubeconfig')
      .option(
        '--direct-ranges <cidrs>',
        'CIDR,…: the addresses direct mode may reach in this cluster (without it, no direct-mode task)',
      ),
  ).action(async (name: string, options: ClusterAddOptions) => {
    process.exitCode = await addCluster(() => connect(options), name, options, processIo);
  });
  const list = withRemoteOptions(
    cluster
      .command('list')
      .description('list the registered clusters')
      .option('-o, --output <format>', 'table, json or yaml', 'table'),
  ).action(async (options: ClusterListOptions) => {
    process.exitCode = await listClusters(connect(options), options, processIo);
  });
  registerCrd(cluster);
  registerRbac(cluster);
  add.exitOverride();
  list.exitOverride();
  addExamples(program, add, [
    'penetrator cluster add prod --kubeconfig prod.kubeconfig --direct-ranges 10.20.0.0/16',
  ]);
  addExamples(program, list, ['penetrator cluster list']);
}

export async function addCluster(
  client: ClientSource,
  name: string,
  options: ClusterAddOptions,
  io: RemoteIo,
): Promise<number> {
  if (!isClusterName(name)) {
    throw new CliError(`"${name}" is not a cluster name`, EXIT_USAGE, `use ${CLUSTER_NAME_RULE}`);
  }
  const directRanges = rangesFlag('--direct-ranges', options.directRanges);
  const kubeconfig = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_KUBECONFIG_BYTES);
  const problems = kubeconfigProblems(kubeconfig);
  if (problems.length > 0) {
    const local = problems.some((p) => p.includes('refers to a file'));
    throw new CliError(
      [`${options.kubeconfig} cannot be used by the deployment:`, ...problems.map((p) => `  ${p}`)].join(
        '\n',
      ),
      EXIT_USAGE,
      local
        ? FLATTEN_HINT
        : 'use a kubeconfig with an https server, its certificate authority embedded, and a token or client certificate',
    );
  }
  await clientFrom(client).putCluster(name, kubeconfig, options.replace === true, directRanges);
  io.stdout(`cluster/${name} ${options.replace === true ? 'replaced' : 'registered'}\n`);
  return 0;
}

export async function listClusters(
  client: ApiClient,
  options: ClusterListOptions,
  io: RemoteIo,
): Promise<number> {
  const format = parseOutputFormat(options.output, ['table', 'json', 'yaml']);
  const list = await client.listClusters();
  if (list.items.length === 0 && format === 'table') {
    io.stderr('no clusters registered; add one with penetrator cluster add NAME --kubeconfig FILE\n');
    return 0;
  }
  io.stdout(render(format, list.items, [{ header: 'name', value: (c) => c.name }], list));
  return 0;
}
