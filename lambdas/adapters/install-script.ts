/**
 * installer/install.sh, the script every install Job runs. Lambda bundles carry no repository
 * files, so the bundler inlines the script as a string constant: the CDK bundling defines
 * `PENETRATOR_INSTALL_SCRIPT` (esbuild `define`, the file's text as a JSON string). Unbundled code
 * (tests, the local runner under tsx) reads the file from the repository instead.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

declare const PENETRATOR_INSTALL_SCRIPT: string | undefined;

/** The script's path in the repository, for bundling and for unbundled runs. */
export const INSTALL_SCRIPT_PATH = fileURLToPath(new URL('../../installer/install.sh', import.meta.url));

let cached: Promise<string> | undefined;

function inlined(): string | undefined {
  // `typeof` does not throw on an undeclared global: unbundled code simply has no inlined script.
  return typeof PENETRATOR_INSTALL_SCRIPT === 'string' ? PENETRATOR_INSTALL_SCRIPT : undefined;
}

export function loadInstallScript(path: string = INSTALL_SCRIPT_PATH): Promise<string> {
  const text = inlined();
  if (text !== undefined) return Promise.resolve(text);
  cached ??= readFile(path, 'utf8').catch((error: unknown) => {
    cached = undefined;
    throw new Error(
      `the install script is neither bundled (define PENETRATOR_INSTALL_SCRIPT) nor readable at ${path} ` +
        `(${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  });
  return cached;
}
