/**
 * Renders docs/performance.svg from docs/performance-runs.json (the figures `npm run bench` printed,
 * one entry per run) with Vega-Lite: wall time against the ideal ⌈N/C⌉ × T, and the cost per 1000
 * nodes, for each N and C measured. Usage: npm run docs:performance-plot
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';

interface Run {
  system: 'penetrator' | 'original (re-created)';
  nodes: number;
  concurrency: number;
  installSeconds: number;
  wall_s: number;
  ideal_s: number;
  aws_cost_per_1000_nodes_usd: number | null;
  note?: string;
}

const runsPath = new URL('../docs/performance-runs.json', import.meta.url);
const svgPath = new URL('../docs/performance.svg', import.meta.url);
const runs = (JSON.parse(readFileSync(runsPath, 'utf8')) as { runs: Run[] }).runs;

const rows = runs.flatMap((r) => {
  const label = `${r.system}, C=${r.concurrency}, T=${r.installSeconds}s`;
  return [
    { ...r, label, measure: 'measured', seconds: r.wall_s },
    { ...r, label, measure: 'ideal ⌈N/C⌉×T', seconds: r.ideal_s },
  ];
});

const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: 'Penetrator on the sandbox cluster (2 shared cores): time and cost against N and C',
  resolve: { scale: { color: 'independent' } },
  hconcat: [
    {
      title: 'wall time (s), measured and ideal',
      width: 360,
      height: 260,
      data: { values: rows },
      mark: { type: 'point', filled: true, size: 80 },
      encoding: {
        x: { field: 'nodes', type: 'quantitative', scale: { type: 'log' }, title: 'N (nodes)' },
        y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, title: 'seconds' },
        color: { field: 'label', type: 'nominal', title: 'run', legend: { labelLimit: 400 } },
        shape: { field: 'measure', type: 'nominal', title: '' },
      },
    },
    {
      title: 'AWS cost per 1000 nodes (USD, list prices)',
      width: 240,
      height: 260,
      data: { values: runs.filter((r) => r.aws_cost_per_1000_nodes_usd !== null) },
      mark: { type: 'bar' },
      encoding: {
        x: {
          field: 'case',
          type: 'nominal',
          title: 'N, C, T',
          sort: null,
          axis: { labelAngle: -30 },
        },
        y: { field: 'aws_cost_per_1000_nodes_usd', type: 'quantitative', title: 'USD' },
        color: { field: 'note', type: 'nominal', title: 'bundles', legend: { labelLimit: 400 } },
      },
      transform: [
        {
          calculate:
            "'N=' + datum.nodes + ' C=' + datum.concurrency + ' T=' + datum.installSeconds + ', ' + datum.note",
          as: 'case',
        },
      ],
    },
  ],
};

const view = new View(parse(compile(spec).spec), { renderer: 'none' });
writeFileSync(svgPath, `${await view.toSVG()}\n`);
console.log(`wrote ${svgPath.pathname} from ${runs.length} runs`);
