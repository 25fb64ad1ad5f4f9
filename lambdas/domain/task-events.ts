/**
 * Events on the task's record: what `kubectl describe` shows of a run.
 */
import { TASK_NAMESPACE } from './contracts';
import { shortHash } from './job-names';
import type { Event } from 'kubernetes-types/core/v1';
import type { Shaped } from './kube-types';
import { rfc3339 } from './kube-time';
import { managedLabels, type PreparedTask } from './prepared-task';

export type EventReason =
  'NodeInstalled' | 'NodeReplaced' | 'NodeInstallFailed' | 'TaskSucceeded' | 'TaskFailed';

/** An Event the product writes: every field `kubectl describe` shows is set, its reason one of the product's. */
export type EventObject = Shaped<Event, 'Event'> &
  Required<
    Pick<Event, 'involvedObject' | 'message' | 'source' | 'firstTimestamp' | 'lastTimestamp' | 'count'>
  > & {
    reason: EventReason;
    type: 'Normal' | 'Warning';
  };

const WARNING_REASONS: ReadonlySet<EventReason> = new Set(['NodeInstallFailed', 'TaskFailed']);
/** The apiserver refuses Event messages above 1 KiB-ish in practice; keep them short and readable. */
const MAX_EVENT_MESSAGE = 1024;

export interface TaskEventInput {
  task: Pick<PreparedTask, 'name' | 'taskObject' | 'ownerUid' | 'executionId'>;
  reason: EventReason;
  message: string;
  /** Makes the name unique within the run (a node name for node events); a retried create then meets 409. */
  key?: string;
  now: Date;
}

/** An Event on the task object; its name is derived from run, reason and key, so a retry does not duplicate it. */
export function taskEvent(input: TaskEventInput): EventObject {
  const { task } = input;
  const now = rfc3339(input.now);
  const chars = [...input.message.replace(/\s+/g, ' ').trim()];
  const message =
    chars.length > MAX_EVENT_MESSAGE ? `${chars.slice(0, MAX_EVENT_MESSAGE - 1).join('')}…` : chars.join('');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${task.taskObject}.${shortHash(`${task.executionId}/${input.reason}/${input.key ?? ''}`)}`,
      namespace: TASK_NAMESPACE,
      labels: managedLabels(task.name),
    },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: task.taskObject,
      namespace: TASK_NAMESPACE,
      uid: task.ownerUid,
    },
    reason: input.reason,
    message,
    type: WARNING_REASONS.has(input.reason) ? 'Warning' : 'Normal',
    source: { component: 'penetrator' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: 'penetrator',
    reportingInstance: '',
  };
}
