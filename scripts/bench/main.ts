/**
 * `npm run bench`: the benchmark on the real cluster (cluster.ts), and with `--compare-original`
 * the original's approach on the same kind of cluster with the same N, T and failure rate
 * (original.ts), its figures prefixed `original.`. Figures go to stdout, progress to stderr.
 */
import { parseBenchArgs, report, runClusterBench } from './cluster';
import { originalReport, readOriginalParameters, runOriginalBench } from './original';

const options = parseBenchArgs(process.argv.slice(2));
// Read first: a wrong directory is refused before anything runs.
const original = options.compareOriginal ? readOriginalParameters(options.compareOriginal) : undefined;
const ours = await runClusterBench(options);
console.log(report(ours));
if (original) {
  const theirs = await runOriginalBench({ ...options, original });
  console.log(originalReport(theirs, ours.counts.wallSeconds));
}
