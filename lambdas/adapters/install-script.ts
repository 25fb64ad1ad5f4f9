/**
 * installer/install.sh, the script every install Job runs. Lambda bundles carry no repository
 * files, so the bundler inlines the script as a string constant: the CDK bundling defines
 * `PENETRATOR_INSTALL_SCRIPT` (esbuild `define`, the file's text as a JSON string). Unbundled code
 * (tests, the local runner under tsx) reads the file from the repository instead.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

declare const PENETRATOR_INSTALL_SCRIPT: string | undefined;

/** The script's path in the repository, for bundling and for unbundled runs. */
export const INSTALL_SCRIPT_PATH = fileURLToPath(new URL('../../installer/install.sh', import.meta.url));

/** One read per path and process: every Prepare of a warm Lambda or local run reuses it. */
const cache = new Map<string, Promise<string>>();

function inlined(): string | undefined {
  // `typeof` does not throw on an undeclared global: unbundled code simply has no inlined script.
  return typeof PENETRATOR_INSTALL_SCRIPT === 'string' ? PENETRATOR_INSTALL_SCRIPT : undefined;
}

export function loadInstallScript(path: string = INSTALL_SCRIPT_PATH): Promise<string> {
  const bundled = inlined();
  if (bundled !== undefined) return Promise.resolve(bundled);
  let text = cache.get(path);
  if (text === undefined) {
    text = readFile(path, 'utf8').catch((error: unknown) => {
      cache.delete(path);
      throw new Error(
        `the install script is neither bundled (define PENETRATOR_INSTALL_SCRIPT) nor readable at ${path} ` +
          `(${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    });
    cache.set(path, text);
  }
  return text;
}

/** The global a bundle defines to inline the script. */
export const INSTALL_SCRIPT_DEFINE = 'PENETRATOR_INSTALL_SCRIPT';

/**
 * esbuild `define` entries that inline the script into a bundle (for NodejsFunction's
 * `bundling.define`). Read at synth time, so the deployed Lambda runs the script of that commit.
 */
export function installScriptDefine(path: string = INSTALL_SCRIPT_PATH): Record<string, string> {
  return { [INSTALL_SCRIPT_DEFINE]: JSON.stringify(readFileSync(path, 'utf8')) };
}
