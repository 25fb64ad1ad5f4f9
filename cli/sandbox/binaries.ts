/**
 * The control-plane binaries the sandbox runs, built from Go modules by sandbox/build-binaries.sh.
 * A cold build takes several minutes; later runs compare a stamp and return at once.
 */
import { spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../output';
import { GO_DIR } from './prerequisites';

const SCRIPT = fileURLToPath(new URL('../../sandbox/build-binaries.sh', import.meta.url));
/** A cold build is about 6 minutes on 2 cores; far beyond that something hangs. */
const BUILD_TIMEOUT_MS = 45 * 60_000;

/** Runs the build script, passing each line of its output to `write` indented, as it comes. */
export function buildBinaries(write: (text: string) => void): Promise<void> {
  const child = spawn('bash', [SCRIPT], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}${delimiter}${GO_DIR}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const forward = (chunk: string): void => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) write(`  ${line}\n`);
  };
  child.stdout.setEncoding('utf8').on('data', forward);
  child.stderr.setEncoding('utf8').on('data', forward);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new CliError(`cannot run ${SCRIPT}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (partial !== '') write(`  ${partial}\n`);
      if (code === 0) resolve();
      else
        reject(
          new CliError(
            `building the control-plane binaries failed (${signal ?? `exit ${code}`})`,
            undefined,
            'see the build output above; run bash sandbox/build-binaries.sh to retry',
          ),
        );
    });
  });
}
