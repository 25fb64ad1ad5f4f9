/**
 * Release cluster / Clean up after error: the task's install Jobs that still run are stopped and
 * their Pods waited for (stop-task-jobs.ts), the credential Secret and the execution's join token go
 * (neither may outlive the task), then the lock, if this execution holds it. Idempotent and quiet about what is already gone, so it
 * can run after any failure, twice, or after a partial Prepare.
 */
import { TASK_NAMESPACE, type CleanupInput } from '../domain/contracts';
import { extractReason } from '../domain/summary';
import { credentialSecretName, taskObjectName } from '../domain/job-names';
import { isPreparedTask } from '../domain/prepared-task';
import { taskEvent } from '../domain/task-events';
import type { Dependencies } from '../ports';
import { deleteTaskToken } from './bootstrap-token';
import { now, parseTaskRef, record } from './common';
import { releaseLock, type LockOutcome } from './lock';
import { stopTaskJobs } from './stop-task-jobs';

export function parseCleanupInput(payload: unknown): CleanupInput {
  const body = record(payload, 'payload');
  const input: CleanupInput = { task: parseTaskRef(body.task, 'payload.task') };
  if (typeof body.error === 'object' && body.error !== null) {
    const error = body.error as Record<string, unknown>;
    input.error = {
      ...(typeof error.Error === 'string' ? { Error: error.Error } : {}),
      ...(typeof error.Cause === 'string' ? { Cause: error.Cause } : {}),
    };
  }
  return input;
}

export interface CleanupOutput {
  credentialSecret: 'deleted' | 'absent';
  /** `foreign`: a token of that name that another task made, left alone. */
  bootstrapToken: 'deleted' | 'absent' | 'foreign';
  lock: LockOutcome;
}

export async function cleanup(deps: Dependencies, payload: unknown): Promise<CleanupOutput> {
  const { task, error } = parseCleanupInput(payload);
  const kube = await deps.kube(task.cluster);
  // First, and before the lock goes: no install of this task may still run when the next task starts.
  await stopTaskJobs(kube, task.name, deps.log);

  const secretName = task.credentialSecret ?? credentialSecretName(task.name);
  const deleted = await kube.delete({ kind: 'Secret', namespace: TASK_NAMESPACE, name: secretName });
  const credentialSecret = deleted === 'deleted' ? 'deleted' : 'absent';
  const bootstrapToken = await deleteTaskToken(kube, task);

  const lock = await releaseLock(kube, task);

  // The Event is a courtesy: failing to write it must not fail the cleanup, which has done its job.
  if (error && isPreparedTask(task)) {
    const reason = `${error.Error ?? 'Error'}: ${extractReason(error.Cause)}`;
    try {
      await kube.create(
        taskEvent({
          task,
          reason: 'TaskFailed',
          message: `task ${task.name} aborted: ${reason}`,
          key: 'aborted',
          now: now(deps),
        }),
      );
    } catch (eventError) {
      deps.log.warn('could not record the TaskFailed Event', {
        errorName: eventError instanceof Error ? eventError.name : 'Error',
      });
    }
  } else if (error) {
    deps.log.warn('aborted before the task object existed', { taskObject: taskObjectName(task.name) });
  }

  deps.log.info('cleaned up', { credentialSecret, bootstrapToken, lock, aborted: error !== undefined });
  return { credentialSecret, bootstrapToken, lock };
}
