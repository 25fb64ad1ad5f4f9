/**
 * The NodeTask's API version and kind, the original's, on their own: every Lambda that writes a
 * Kubernetes object needs them, and importing them from the schema module would load its validator
 * library into every bundle (docs/adr/0021).
 */
export const NODE_TASK_API_VERSION = 'nodetask.apps.superedge.io/v1beta1';
export const NODE_TASK_KIND = 'NodeTask';
