/**
 * Each Lambda bundle's size and cold module load: a fresh process of the deployed runtime's Node.js
 * importing the entry with the function's environment, as Lambda's runtime does at a cold start.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { BundledFunction } from '../../cli/local/assembly';
import { lambdaProcessEnv } from '../../cli/local/bundled-handlers';
import { lambdaNode } from '../../cli/local/lambda-node';
import type { BundleFigure } from './figures';

// The import is timed inside the process, so process start-up is not counted.
const TIME_IMPORT = `const t = performance.now(); await import(process.argv[1]);
process.stdout.write((performance.now() - t).toFixed(1));`;

/** `PlanFunction74A84C0D` → `Plan`: the construct's name, stable across syntheses. */
export const bundleName = (fn: BundledFunction): string => fn.logicalId.replace(/Function[0-9A-F]{8}$/, '');

/**
 * The fastest of `runs` cold loads, each in a fresh process: on a shared machine the slower ones
 * measure the other work queued on the cores, not the bundle.
 */
export function bundleFigure(fn: BundledFunction, runs = 3): BundleFigure {
  const entry = join(fn.assetDir, 'index.mjs');
  const { binary } = lambdaNode(fn.runtime);
  const loads = Array.from({ length: runs }, () =>
    Number(
      execFileSync(binary, ['--input-type=module', '-e', TIME_IMPORT, entry], {
        cwd: fn.assetDir,
        env: lambdaProcessEnv(fn),
        encoding: 'utf8',
        timeout: 60_000,
      }),
    ),
  );
  return { name: bundleName(fn), bytes: statSync(entry).size, coldLoadMs: Math.min(...loads) };
}

/** Every function of the assembly, by name. */
export function bundleFigures(functions: Record<string, BundledFunction>, runs = 3): BundleFigure[] {
  return Object.values(functions)
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId))
    .map((fn) => bundleFigure(fn, runs));
}
