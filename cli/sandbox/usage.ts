/** What to do with a running sandbox: the commands to copy. Pure. */
import { CREDENTIAL_NAME } from './options';
import type { SandboxState } from './state';

export function usageHints(state: SandboxState): string {
  const flags = `--kubeconfig ${state.kubeconfigPath} --credential ${state.credentialPath} --package ${state.packagePath}`;
  return [
    `  site ${state.subnet}: proxy node ${state.proxyNode}, machines ${state.machines.join(' ')}\n`,
    `  kubeconfig  ${state.kubeconfigPath}\n`,
    `  credential  ${state.credentialPath} (${CREDENTIAL_NAME}: passwd, mode 0600)\n`,
    `  package     ${state.packagePath}\n`,
    `  log         ${state.logPath}\n`,
    'next:\n',
    `  penetrator run -f examples/add-nodes.yaml ${flags}\n`,
    `  kubectl --kubeconfig ${state.kubeconfigPath} get nodes -L app.superedge.io/node-label   (if kubectl is installed)\n`,
    '  penetrator sandbox status\n',
    '  penetrator sandbox down      (stops it and removes everything it created)\n',
  ].join('');
}
