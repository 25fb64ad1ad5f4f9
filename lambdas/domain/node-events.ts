/**
 * Live Events about a NodeTask, one per node per change: an attempt started, an attempt failed and
 * the next one follows, the node installed, the node given up. Pure: use-cases/node-events.ts
 * creates them.
 *
 * A NodeTask is cluster-scoped, and the apiserver keeps an Event whose involvedObject has no
 * namespace only in `default` (ADR 0035); `kubectl describe nt` looks exactly there (no namespace,
 * the NodeTask's uid). People who run the original read `kubectl -n edge-system get event`, so each
 * change is also written there, its involvedObject naming the namespace as the apiserver requires.
 * Both are named after the run, node, reason and attempt: a step run twice writes nothing new.
 */
import { TASK_NAMESPACE } from './contracts';
import type { KubeObject } from './kube-types';
import { rfc3339 } from './kube-time';
import { boundReason } from './failure-reason';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, TASK_LABEL, shortHash } from './job-names';
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from './node-task-kind';

/** Where the apiserver keeps Events about cluster-scoped objects, and where kubectl describe reads them. */
export const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';

export const NodeEventReasons = {
  installing: 'Installing',
  retrying: 'Retrying',
  installed: 'Installed',
  gaveUp: 'GaveUp',
} as const;
export type NodeEventReason = (typeof NodeEventReasons)[keyof typeof NodeEventReasons];

export interface NodeTaskEventObject extends KubeObject {
  kind: 'Event';
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid: string };
  reason: NodeEventReason;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  reportingComponent: string;
  reportingInstance: string;
}

/** What changed for one node. */
export type NodeChange =
  | { reason: 'Installing'; attempt: number; maxAttempts: number; proxyNode: string }
  | {
      reason: 'Retrying';
      attempt: number;
      maxAttempts: number;
      failure: string;
      /** The longest pause before the next attempt (the workflow's backoff, jitter below it). */
      nextDelaySeconds: number;
    }
  | { reason: 'Installed'; attempt: number }
  | { reason: 'GaveUp'; attempt: number; failure: string };

/**
 * The longest pause Step Functions takes before attempt `failed + 1`: the interval doubled per
 * earlier retry, capped by the longest pause. Full jitter draws the actual pause below it.
 */
export function nextAttemptDelaySeconds(
  failed: number,
  intervalSeconds: number,
  maxDelaySeconds: number,
): number {
  const doubled = intervalSeconds * 2 ** Math.max(0, Math.min(failed - 1, 30));
  return Math.min(maxDelaySeconds, doubled);
}

export function nodeEventMessage(node: { name: string; ip: string }, change: NodeChange): string {
  const who = `node ${node.name} (${node.ip})`;
  switch (change.reason) {
    case 'Installing':
      return `${who}: attempt ${change.attempt} of ${change.maxAttempts} started${change.proxyNode ? ` through ${change.proxyNode}` : ''}`;
    case 'Retrying':
      return (
        `${who}: attempt ${change.attempt} of ${change.maxAttempts} failed: ${boundReason(change.failure)}; ` +
        `attempt ${change.attempt + 1} starts within ${change.nextDelaySeconds}s`
      );
    case 'Installed':
      return `${who}: installed (attempt ${change.attempt})`;
    case 'GaveUp':
      return `${who}: given up after attempt ${change.attempt}: ${boundReason(change.failure)}`;
  }
}

export interface NodeEventInput {
  nodeTask: { name: string; uid: string };
  executionId: string;
  node: { name: string; ip: string };
  change: NodeChange;
  now: Date;
}

/** The change as the two Events described above: for kubectl describe, and in edge-system. */
export function nodeEvents(input: NodeEventInput): [NodeTaskEventObject, NodeTaskEventObject] {
  const { nodeTask, node, change } = input;
  const at = rfc3339(input.now);
  const key = shortHash(`${input.executionId}/${node.name}/${change.reason}/${change.attempt}`);
  const event = (namespace: string, involvedNamespace?: string): NodeTaskEventObject => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${nodeTask.name}.${key}`,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [TASK_LABEL]: nodeTask.name },
    },
    involvedObject: {
      apiVersion: NODE_TASK_API_VERSION,
      kind: NODE_TASK_KIND,
      name: nodeTask.name,
      ...(involvedNamespace === undefined ? {} : { namespace: involvedNamespace }),
      uid: nodeTask.uid,
    },
    reason: change.reason,
    message: nodeEventMessage(node, change),
    type: change.reason === 'Retrying' || change.reason === 'GaveUp' ? 'Warning' : 'Normal',
    source: { component: 'penetrator' },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    reportingComponent: 'penetrator',
    reportingInstance: '',
  });
  return [event(CLUSTER_SCOPED_EVENT_NAMESPACE), event(TASK_NAMESPACE, TASK_NAMESPACE)];
}
