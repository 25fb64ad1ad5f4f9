/**
 * `penetrator cluster crd`: the NodeTask CRD, printed for a cluster admin to apply, or applied with
 * `--apply --kubeconfig FILE` (created, or written over the original's keeping its NodeTasks).
 */
import type { Command } from 'commander';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import { NODE_TASK_CRD_NAME, nodeTaskCrd } from '../../lambdas/domain/node-task-crd';
import type { Kube } from '../../lambdas/ports';
import { installNodeTaskCrd, type CrdOutcome } from '../../lambdas/use-cases/install-crd';
import { CliError, EXIT_USAGE, renderYaml } from '../output';
import { readTextFile } from '../remote/inputs';

export interface CrdOptions {
  apply?: boolean;
  kubeconfig?: string;
}

export interface CrdIo {
  stdout: (text: string) => void;
  kube: (kubeconfigYaml: string) => Kube;
}

const MAX_KUBECONFIG_BYTES = 1024 * 1024;
/** kubectl's words for the three outcomes. */
const SAID: Record<CrdOutcome, string> = {
  created: 'created',
  updated: 'configured',
  unchanged: 'unchanged',
};

export function registerCrd(cluster: Command): void {
  const crd = cluster
    .command('crd')
    .description('print the NodeTask CRD for a cluster admin, or --apply it to a cluster')
    .option('--apply', 'install it in the cluster of --kubeconfig instead of printing it')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster to install it in (with --apply)')
    .action(async (options: CrdOptions) => {
      process.exitCode = await crdCommand(options, {
        stdout: (text) => process.stdout.write(text),
        kube: (yaml) => kubeFromKubeconfig('target', yaml),
      });
    });
  crd.exitOverride();
  // Its own help only: the top-level help keeps one examples line per verb.
  crd.addHelpText(
    'after',
    [
      '\nExamples:',
      '  $ penetrator cluster crd | kubectl apply -f -',
      '  $ penetrator cluster crd --apply --kubeconfig prod.kubeconfig',
      '',
    ].join('\n'),
  );
}

export async function crdCommand(options: CrdOptions, io: CrdIo): Promise<number> {
  if (!options.apply) {
    if (options.kubeconfig !== undefined) {
      throw new CliError(
        '--kubeconfig is only read with --apply',
        EXIT_USAGE,
        'add --apply to install the CRD',
      );
    }
    io.stdout(renderYaml(nodeTaskCrd()));
    return 0;
  }
  if (options.kubeconfig === undefined) {
    throw new CliError('--apply needs --kubeconfig FILE', EXIT_USAGE, 'name the kubeconfig of the cluster');
  }
  const yaml = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_KUBECONFIG_BYTES);
  const outcome = await installNodeTaskCrd(io.kube(yaml));
  io.stdout(`customresourcedefinition/${NODE_TASK_CRD_NAME} ${SAID[outcome]}\n`);
  return 0;
}
