/**
 * `penetrator cluster add NAME --kubeconfig FILE` and `penetrator cluster list`: the target clusters
 * the deployment serves, each a kubeconfig in Secrets Manager. The kubeconfig is checked here first:
 * it must be usable from a Lambda, so it names a server and embeds every certificate and key.
 */
import type { Command } from 'commander';
import { parse } from 'yaml';
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
import { readTextFile } from '../remote/inputs';
import { registerCrd } from './cluster-crd';

export interface ClusterAddOptions extends RemoteFlags {
  kubeconfig: string;
}

export interface ClusterListOptions extends RemoteFlags {
  output?: string;
}

/** As a NodeTask's spec.cluster accepts it. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_KUBECONFIG_BYTES = 1024 * 1024;
const FLATTEN_HINT =
  'embed them: kubectl config view --flatten --minify > cluster.kubeconfig, then add that file';

export function register(program: Command): void {
  const cluster = program.command('cluster').description('manage the clusters the deployment serves');
  const add = withRemoteOptions(
    cluster
      .command('add')
      .description('register (or replace) a cluster under NAME from its kubeconfig')
      .argument('<name>', 'the name NodeTasks and --cluster use')
      .requiredOption('--kubeconfig <file>', "the cluster's kubeconfig, certificates embedded"),
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
  add.exitOverride();
  list.exitOverride();
  addExamples(program, add, ['penetrator cluster add prod --kubeconfig prod.kubeconfig']);
  addExamples(program, list, ['penetrator cluster list']);
}

type Named = { name?: unknown; [key: string]: unknown };

/** Paths a kubeconfig may point at: they exist on this machine, never in the Lambda. */
const FILE_FIELDS = ['certificate-authority', 'client-certificate', 'client-key', 'tokenFile'];

/** What would stop the workflow from using this kubeconfig; nothing of its content is quoted. */
export function kubeconfigProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return ['it is not YAML'];
  }
  if (!doc || typeof doc !== 'object') return ['it is not a kubeconfig (expected a YAML mapping)'];
  const config = doc as { clusters?: unknown; users?: unknown };
  const clusters = Array.isArray(config.clusters) ? (config.clusters as Named[]) : [];
  const users = Array.isArray(config.users) ? (config.users as Named[]) : [];
  const problems: string[] = [];
  if (!clusters.some((c) => typeof (c.cluster as Named | undefined)?.server === 'string')) {
    problems.push('no cluster in it names a server');
  }
  problems.push(...clusters.flatMap((c) => entryProblems('clusters', c.name, c.cluster)));
  problems.push(...users.flatMap((u) => entryProblems('users', u.name, u.user)));
  return problems;
}

/** A cluster or user entry that points at local files or runs a local program. */
function entryProblems(section: string, name: unknown, body: unknown): string[] {
  if (!body || typeof body !== 'object') return [];
  const record = body as Named;
  const problems = FILE_FIELDS.filter((field) => typeof record[field] === 'string').map(
    (field) => `${section} ${String(name)}: ${field} refers to a local file`,
  );
  if (record.exec !== undefined || record['auth-provider'] !== undefined) {
    problems.push(
      `${section} ${String(name)}: uses an exec or auth-provider plugin, which the Lambdas cannot run`,
    );
  }
  return problems;
}

export async function addCluster(
  client: ClientSource,
  name: string,
  options: ClusterAddOptions,
  io: RemoteIo,
): Promise<number> {
  if (!CLUSTER_NAME.test(name)) {
    throw new CliError(
      `"${name}" is not a cluster name`,
      EXIT_USAGE,
      'use letters, digits, ".", "_" and "-" (at most 63)',
    );
  }
  const kubeconfig = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_KUBECONFIG_BYTES);
  const problems = kubeconfigProblems(kubeconfig);
  if (problems.length > 0) {
    const local = problems.some((p) => p.includes('local file'));
    throw new CliError(
      [`${options.kubeconfig} cannot be used by the deployment:`, ...problems.map((p) => `  ${p}`)].join(
        '\n',
      ),
      EXIT_USAGE,
      local ? FLATTEN_HINT : 'use a kubeconfig with a server and a token or client certificate',
    );
  }
  await clientFrom(client).putCluster(name, kubeconfig);
  io.stdout(`cluster/${name} registered\n`);
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
