/**
 * The installer's files: installer/install.sh, which every install Job runs, and installer/remote.sh,
 * the part that runs on the target (sent by install.sh, and by direct mode from the Lambda). Lambda
 * bundles carry no repository files, so the bundler inlines both as string constants: the CDK
 * bundling defines `PENETRATOR_INSTALL_SCRIPT` and `PENETRATOR_REMOTE_SCRIPT` (esbuild `define`,
 * each file's text as a JSON string; see installScriptDefine). Unbundled code (tests, the local
 * runner under tsx) reads the files from the repository instead.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { InstallerScripts } from '../domain/script-config-map';

declare const PENETRATOR_INSTALL_SCRIPT: string | undefined;
declare const PENETRATOR_REMOTE_SCRIPT: string | undefined;

/** The scripts' paths in the repository, for bundling and for unbundled runs. */
export const INSTALL_SCRIPT_PATH = fileURLToPath(new URL('../../installer/install.sh', import.meta.url));
export const REMOTE_SCRIPT_PATH = fileURLToPath(new URL('../../installer/remote.sh', import.meta.url));

/** One read per path and process: every Prepare of a warm Lambda or local run reuses it. */
const cache = new Map<string, Promise<string>>();

// `typeof` does not throw on an undeclared global: unbundled code simply has no inlined script.
function inlinedInstall(): string | undefined {
  return typeof PENETRATOR_INSTALL_SCRIPT === 'string' ? PENETRATOR_INSTALL_SCRIPT : undefined;
}

function inlinedRemote(): string | undefined {
  return typeof PENETRATOR_REMOTE_SCRIPT === 'string' ? PENETRATOR_REMOTE_SCRIPT : undefined;
}

function readCached(path: string, what: string, define: string): Promise<string> {
  let text = cache.get(path);
  if (text === undefined) {
    text = readFile(path, 'utf8').catch((error: unknown) => {
      cache.delete(path);
      throw new Error(
        `the ${what} is neither bundled (define ${define}) nor readable at ${path} ` +
          `(${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    });
    cache.set(path, text);
  }
  return text;
}

/** installer/install.sh. */
export function loadInstallScript(path: string = INSTALL_SCRIPT_PATH): Promise<string> {
  const bundled = inlinedInstall();
  if (bundled !== undefined) return Promise.resolve(bundled);
  return readCached(path, 'install script', INSTALL_SCRIPT_DEFINE);
}

/** installer/remote.sh. */
export function loadRemoteScript(path: string = REMOTE_SCRIPT_PATH): Promise<string> {
  const bundled = inlinedRemote();
  if (bundled !== undefined) return Promise.resolve(bundled);
  return readCached(path, 'remote part of the installer', REMOTE_SCRIPT_DEFINE);
}

/** Both files, as the script ConfigMap carries them and direct mode needs them. */
export async function loadInstallerScripts(
  installPath: string = INSTALL_SCRIPT_PATH,
  remotePath: string = REMOTE_SCRIPT_PATH,
): Promise<InstallerScripts> {
  const [install, remote] = await Promise.all([loadInstallScript(installPath), loadRemoteScript(remotePath)]);
  return { install, remote };
}

/** The globals a bundle defines to inline the scripts. */
export const INSTALL_SCRIPT_DEFINE = 'PENETRATOR_INSTALL_SCRIPT';
export const REMOTE_SCRIPT_DEFINE = 'PENETRATOR_REMOTE_SCRIPT';

/**
 * esbuild `define` entries that inline both scripts into a bundle (for NodejsFunction's
 * `bundling.define`). Read at synth time, so the deployed Lambda runs the scripts of that commit.
 */
export function installScriptDefine(
  path: string = INSTALL_SCRIPT_PATH,
  remotePath: string = REMOTE_SCRIPT_PATH,
): Record<string, string> {
  return {
    [INSTALL_SCRIPT_DEFINE]: JSON.stringify(readFileSync(path, 'utf8')),
    [REMOTE_SCRIPT_DEFINE]: JSON.stringify(readFileSync(remotePath, 'utf8')),
  };
}
