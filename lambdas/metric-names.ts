/**
 * Where the Lambdas' metrics are published, shared by the code that records them
 * (lambdas/observability.ts) and the dashboard that reads them (infra/constructs/dashboard.ts), which
 * should not load the metrics library to learn three names.
 */

/** The CloudWatch namespace of the product's metrics (also POWERTOOLS_METRICS_NAMESPACE in Lambda). */
export const METRICS_NAMESPACE = 'Penetrator';
/** Powertools' `service` dimension, on every product metric. */
export const METRICS_SERVICE = 'penetrator';
/** The per-cluster dimension (each value is also written without it, for fleet-wide figures). */
export const METRIC_DIMENSION = 'cluster';
