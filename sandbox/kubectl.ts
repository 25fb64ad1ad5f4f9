/**
 * The real kubectl, built by build-binaries.sh from the same k8s.io/kubernetes module as the
 * control plane, so the tests and the demo type the commands a user types.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BIN_DIR } from './control-plane';

export const KUBECTL = join(BIN_DIR, 'kubectl');

/** One kubectl command never waits longer than this; a hung one fails the caller instead. */
const KUBECTL_TIMEOUT_MS = 30_000;
/** Output kept per command: the tables a test or the demo prints are far smaller. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `kubectl --kubeconfig FILE ARGS…` without a shell (each argument is passed as is) and
 * resolves with its exit status and output; `stdin` is written to it when given (`apply -f -`).
 */
export function kubectl(
  kubeconfigPath: string,
  args: readonly string[],
  stdin?: string,
): Promise<KubectlResult> {
  if (!existsSync(KUBECTL)) {
    return Promise.reject(
      new Error(`kubectl not found in ${BIN_DIR}: run 'bash sandbox/build-binaries.sh' first`),
    );
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfigPath, ...args],
      { timeout: KUBECTL_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (error !== null && code === -1) reject(new Error(`kubectl ${args.join(' ')}: ${error.message}`));
        else resolve({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}
