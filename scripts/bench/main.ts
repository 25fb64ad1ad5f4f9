/**
 * `npm run bench`: the benchmark on the real cluster (cluster.ts). Figures go to stdout, progress to
 * stderr.
 */
import { parseBenchArgs, report, runClusterBench } from './cluster';

const options = parseBenchArgs(process.argv.slice(2));
const ours = await runClusterBench(options);
console.log(report(ours));
