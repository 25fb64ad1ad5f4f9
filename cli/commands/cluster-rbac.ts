/**
 * `penetrator cluster rbac`: the rights the product needs in a cluster (a ServiceAccount, Roles in
 * edge-system, kube-system and kube-public, a ClusterRole), printed for a cluster admin to review
 * and apply, or applied with `--apply --kubeconfig ADMIN`; `--token-kubeconfig OUT` then writes a
 * kubeconfig for the ServiceAccount, the one to register with `penetrator cluster add`.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { rbacWriterFromKubeconfig } from '../../lambdas/adapters/kube-rbac';
import { rbacManifests } from '../../lambdas/domain/rbac';
import {
  DEFAULT_TOKEN_HOURS,
  applyProductRbac,
  productKubeconfig,
  type RbacPort,
} from '../../lambdas/use-cases/product-identity';
import { CliError, EXIT_USAGE, renderYaml } from '../output';
import { readTextFile } from '../remote/inputs';

export interface RbacOptions {
  apply?: boolean;
  kubeconfig?: string;
  tokenKubeconfig?: string;
  tokenHours?: string;
}

export interface RbacIo {
  stdout: (text: string) => void;
  writer: (kubeconfigYaml: string) => RbacPort;
}

const MAX_KUBECONFIG_BYTES = 1024 * 1024;
const MAX_TOKEN_HOURS = 24 * 366 * 2;

export function registerRbac(cluster: Command): void {
  const rbac = cluster
    .command('rbac')
    .description(
      "print the product's RBAC for a cluster admin, or --apply it and write the product's kubeconfig",
    )
    .option('--apply', 'apply it to the cluster of --kubeconfig instead of printing it')
    .option('--kubeconfig <file>', "a cluster admin's kubeconfig (with --apply)")
    .option(
      '--token-kubeconfig <file>',
      "with --apply: write a kubeconfig for the product's ServiceAccount here (a new file, mode 0600)",
    )
    .option(
      '--token-hours <hours>',
      `lifetime of that token (default ${DEFAULT_TOKEN_HOURS}; the cluster may cap it)`,
    )
    .action(async (options: RbacOptions) => {
      process.exitCode = await rbacCommand(options, {
        stdout: (text) => process.stdout.write(text),
        writer: (yaml) => rbacWriterFromKubeconfig('target', yaml),
      });
    });
  rbac.exitOverride();
  rbac.addHelpText(
    'after',
    [
      '\nExamples:',
      '  $ penetrator cluster rbac | kubectl apply -f -',
      '  $ penetrator cluster rbac --apply --kubeconfig admin.kubeconfig --token-kubeconfig prod.kubeconfig',
      '  $ penetrator cluster add prod --kubeconfig prod.kubeconfig',
      '',
    ].join('\n'),
  );
}

function tokenHours(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TOKEN_HOURS;
  const hours = Number(text);
  if (!/^\d+$/.test(text) || hours < 1 || hours > MAX_TOKEN_HOURS) {
    throw new CliError(
      `--token-hours: expected a whole number of hours from 1 to ${MAX_TOKEN_HOURS}`,
      EXIT_USAGE,
    );
  }
  return hours;
}

export async function rbacCommand(options: RbacOptions, io: RbacIo): Promise<number> {
  if (!options.apply) {
    for (const flag of ['kubeconfig', 'tokenKubeconfig', 'tokenHours'] as const) {
      if (options[flag] !== undefined) {
        throw new CliError(
          `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is only read with --apply`,
          EXIT_USAGE,
        );
      }
    }
    io.stdout(
      rbacManifests()
        .map((object) => renderYaml(object))
        .join('---\n'),
    );
    return 0;
  }
  if (options.kubeconfig === undefined) {
    throw new CliError('--apply needs --kubeconfig FILE', EXIT_USAGE, "name a cluster admin's kubeconfig");
  }
  const hours = tokenHours(options.tokenHours);
  const yaml = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_KUBECONFIG_BYTES);
  const writer = io.writer(yaml);
  for (const line of await applyProductRbac(writer)) io.stdout(`${line}\n`);
  if (options.tokenKubeconfig !== undefined) {
    const issued = await productKubeconfig(writer, yaml, { hours });
    try {
      // A new file only: an existing one (another cluster's kubeconfig, say) is never overwritten.
      await writeFile(options.tokenKubeconfig, issued.kubeconfig, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new CliError(
        `--token-kubeconfig ${options.tokenKubeconfig}: ${code === 'EEXIST' ? 'the file exists; it is left as it is' : `cannot write it (${String(code)})`}`,
      );
    }
    io.stdout(
      `wrote ${options.tokenKubeconfig} (ServiceAccount edge-system/penetrator, token valid until ${issued.expiresAt})\n`,
    );
  }
  return 0;
}
