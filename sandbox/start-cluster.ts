/**
 * Starts a control plane and a test kubelet by hand, for debugging:
 *
 *   npx tsx sandbox/start-cluster.ts [--node NAME]... [--advertise-address IP] [--json]
 *
 * Prints the admin kubeconfig path (use it with any Kubernetes client) and waits for Ctrl-C, which
 * stops everything and removes the temp dirs (PENETRATOR_KEEP_CLUSTER=1 keeps them). With --json it
 * prints one JSON line with the paths and pids instead, for tests that drive it as a child process.
 */
import { startControlPlane } from './control-plane';
import { startTestKubelet } from './kubelet';

function parseArgs(argv: string[]): { nodes: string[]; advertiseAddress?: string; json: boolean } {
  const nodes: string[] = [];
  let advertiseAddress: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--node' && argv[i + 1] !== undefined) nodes.push(argv[++i]!);
    else if (arg === '--advertise-address' && argv[i + 1] !== undefined) advertiseAddress = argv[++i];
    else if (arg === '--json') json = true;
    else
      throw new Error(
        `unknown argument ${arg}; usage: start-cluster.ts [--node NAME]... [--advertise-address IP] [--json]`,
      );
  }
  return { nodes: nodes.length > 0 ? nodes : ['test-node-1'], advertiseAddress, json };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const cp = await startControlPlane({ advertiseAddress: args.advertiseAddress });
  const kubelet = await startTestKubelet(cp, { nodes: args.nodes.map((name) => ({ name })) });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await kubelet.stop();
    await cp.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ dir: cp.dir, kubeletDir: kubelet.workDir, kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids: cp.pids, nodes: args.nodes })}\n`,
    );
    return;
  }
  process.stdout.write(
    [
      `control plane and test kubelet up in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `  apiserver:   ${cp.server} (published as ${cp.siteServer})`,
      `  kubeconfig:  ${cp.kubeconfigPath}`,
      `  nodes:       ${args.nodes.join(', ')}`,
      `  logs:        ${cp.logsDir} (control plane), ${kubelet.logsDir} (pods)`,
      '  try:         kubectl --kubeconfig <path above> get nodes',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
