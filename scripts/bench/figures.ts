/**
 * The benchmark's figures, computed from what a run counted: pure, so the arithmetic (ideal time,
 * ratios, the cost at list prices) is tested by value and every mode prints the same names.
 */

/**
 * List prices used for aws_cost_per_1000_nodes_usd, us-east-1, as published on
 * https://aws.amazon.com/step-functions/pricing/ and https://aws.amazon.com/lambda/pricing/:
 * Standard workflows bill each state transition; the functions run on arm64 (Graviton), billed per
 * GB-second of duration and per request. Free tiers are ignored.
 */
export const PRICES_USD = {
  stateTransition: 0.025 / 1000,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
} as const;

export interface BundleFigure {
  name: string;
  bytes: number;
  coldLoadMs: number;
}

export interface RunCounts {
  nodes: number;
  concurrency: number;
  installSeconds: number;
  wallSeconds: number;
  /** Requests of the product's identity, as the apiserver's audit log counted them. */
  apiserverRequests: number;
  /** Of those, the requests made while following running installs (the polls). */
  apiserverPollRequests: number;
  transitions: number;
  pollTransitions: number;
  lambdaInvocations: number;
  /** Sum over invocations of duration × the function's memory. */
  lambdaGbSeconds: number;
  runnerPeakRssBytes: number;
  bundles: BundleFigure[];
}

/** The shortest a batch can take: ⌈N / C⌉ rounds of one install each. */
export function idealSeconds(nodes: number, concurrency: number, installSeconds: number): number {
  return Math.ceil(nodes / Math.min(concurrency, nodes)) * installSeconds;
}

export function costPer1000NodesUsd(
  counts: Pick<RunCounts, 'nodes' | 'transitions' | 'lambdaInvocations' | 'lambdaGbSeconds'>,
): number {
  const total =
    counts.transitions * PRICES_USD.stateTransition +
    counts.lambdaGbSeconds * PRICES_USD.lambdaArmGbSecond +
    counts.lambdaInvocations * PRICES_USD.lambdaRequest;
  return (total / counts.nodes) * 1000;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** Every figure, in the order printed, as `name=value` pairs. */
export function figures(counts: RunCounts): Array<[string, number]> {
  const ideal = idealSeconds(counts.nodes, counts.concurrency, counts.installSeconds);
  const perNode = (value: number): number => round(value / counts.nodes, 2);
  const largest = counts.bundles.reduce((max, b) => Math.max(max, b.bytes), 0);
  const slowest = counts.bundles.reduce((max, b) => Math.max(max, b.coldLoadMs), 0);
  return [
    ['wall_s', round(counts.wallSeconds, 1)],
    ['ideal_s', ideal],
    ['overhead_ratio', round(counts.wallSeconds / ideal, 3)],
    ['apiserver_requests_per_node', perNode(counts.apiserverRequests)],
    [
      'apiserver_requests_per_node_excl_polls',
      perNode(counts.apiserverRequests - counts.apiserverPollRequests),
    ],
    ['state_transitions_per_node', perNode(counts.transitions)],
    ['state_transitions_per_node_excl_polls', perNode(counts.transitions - counts.pollTransitions)],
    ['lambda_invocations_per_node', perNode(counts.lambdaInvocations)],
    ['runner_peak_rss_mb', Math.round(counts.runnerPeakRssBytes / 1024 / 1024)],
    ['aws_cost_per_1000_nodes_usd', round(costPer1000NodesUsd(counts), 4)],
    ['largest_bundle_bytes', largest],
    ['slowest_cold_load_ms', round(slowest, 1)],
  ];
}

export const FIGURE_NAMES = [
  'wall_s',
  'ideal_s',
  'overhead_ratio',
  'apiserver_requests_per_node',
  'apiserver_requests_per_node_excl_polls',
  'state_transitions_per_node',
  'state_transitions_per_node_excl_polls',
  'lambda_invocations_per_node',
  'runner_peak_rss_mb',
  'aws_cost_per_1000_nodes_usd',
  'largest_bundle_bytes',
  'slowest_cold_load_ms',
] as const;

/** `name=value` lines, an optional prefix naming the system measured (`original.wall_s=…`). */
export function formatFigures(values: Array<[string, number]>, prefix = ''): string {
  return values.map(([name, value]) => `${prefix}${name}=${value}`).join('\n');
}
