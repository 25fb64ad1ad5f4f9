/**
 * Start-up of the `penetrator` command: how long `--help` and `validate -f FILE` take from process
 * start to exit, run from the bundle (what users run) and from the TypeScript sources (what the
 * bundle saves), beside a bare `node` for the machine's own floor. Prints the median and the fastest
 * of a few runs each, with the machine's load before and after: figures taken on a loaded machine
 * say so. Usage: npm run bench:cli [-- RUNS] (default 7, at most 50).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { buildBundle, currentBundle, ROOT } from '../cli/bin/bundle.mjs';

const BIN = join(ROOT, 'cli/bin/penetrator.js');
const EXAMPLE = join(ROOT, 'examples/add-nodes.yaml');
const MAX_RUNS = 50;

function runs(): number {
  const n = Number(process.argv[2] ?? 7);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RUNS) {
    throw new Error(`runs must be a whole number from 1 to ${MAX_RUNS}; received "${process.argv[2]}"`);
  }
  return n;
}

/** Wall milliseconds of each of `n` runs of `args`; a run that fails stops the benchmark. */
function time(args: string[], env: NodeJS.ProcessEnv, n: number): number[] {
  const figures: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: 'pipe', timeout: 60_000 });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (run.status !== 0)
      throw new Error(`node ${args.join(' ')} ended ${run.status}: ${String(run.stderr)}`);
    figures.push(ms);
  }
  return figures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const n = runs();
  if (!currentBundle().url) await buildBundle();
  const bundle = { ...process.env, PENETRATOR_FROM_SOURCES: '' };
  const sources = { ...process.env, PENETRATOR_FROM_SOURCES: '1' };
  const cases: Array<[string, string[], NodeJS.ProcessEnv, number]> = [
    ['node -e 0 (floor)', ['-e', '0'], process.env, n],
    ['penetrator --help', [BIN, '--help'], bundle, n],
    ['penetrator validate -f FILE', [BIN, 'validate', '-f', EXAMPLE], bundle, n],
    // From the sources the start takes seconds; fewer runs say as much.
    ['--help from the sources', [BIN, '--help'], sources, Math.min(n, 3)],
    ['validate from the sources', [BIN, 'validate', '-f', EXAMPLE], sources, Math.min(n, 3)],
  ];
  console.log(loadLine('before'));
  console.log('COMMAND                          RUNS  MEDIAN-MS  FASTEST-MS');
  for (const [label, args, env, count] of cases) {
    const figures = time(args, env, count);
    console.log(
      `${label.padEnd(33)}${String(count).padEnd(6)}${median(figures).toFixed(0).padEnd(11)}${Math.min(...figures).toFixed(0)}`,
    );
  }
  console.log(loadLine('after'));
}

/** "idle-ish" while the 1-minute load stays below the cores; otherwise the run measured contention too. */
function loadLine(when: string): string {
  const [one, five] = loadavg();
  const cores = availableParallelism();
  const state = one! < cores ? 'idle-ish' : 'loaded';
  return `load ${when}: ${one!.toFixed(1)} (1 min), ${five!.toFixed(1)} (5 min) on ${cores} cores: ${state}`;
}

await main();
