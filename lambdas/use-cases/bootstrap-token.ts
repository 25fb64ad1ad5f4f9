/**
 * The task's join token: one per execution, created by Prepare, valid until the task's deadline and
 * deleted when the task ends (Release cluster, Clean up after error, a cancel, the execution-ended
 * rule). Its Secret is named after the execution (bootstrapTokenIdFor), so it is created and then
 * read or deleted by name: nothing here lists kube-system, where every token of the cluster lives.
 */
import type { TaskRef } from '../domain/contracts';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  bootstrapTokenIdFor,
  bootstrapTokenSecret,
  bootstrapTokenSecretName,
  isTaskBootstrapToken,
  usableBootstrapToken,
  type BootstrapToken,
} from '../domain/bootstrap-token-secret';
import type { SecretObject } from '../domain/kube-types';
import { defaultRandom, randomSuffix, type RandomSource } from '../domain/random';
import { TransientError } from '../errors';
import type { Kube } from '../ports';

function tokenSecretPart(random: RandomSource): string {
  let out = '';
  while (out.length < 16) out += randomSuffix(random);
  return out.slice(0, 16);
}

function tokenRef(task: Pick<TaskRef, 'executionId'>) {
  const id = bootstrapTokenIdFor(task.executionId);
  return {
    kind: 'Secret',
    namespace: BOOTSTRAP_TOKEN_NAMESPACE,
    name: bootstrapTokenSecretName(id),
    id,
  } as const;
}

/**
 * The execution's token, valid until `at + deadlineSeconds`: created, or (a retried Prepare) the one
 * it created before. A token of that name that another task made is never touched.
 */
export async function ensureTaskToken(
  kube: Kube,
  task: Pick<TaskRef, 'name' | 'executionId'>,
  at: Date,
  deadlineSeconds: number,
  random: RandomSource = defaultRandom,
): Promise<{ token: BootstrapToken; reused: boolean }> {
  const ref = tokenRef(task);
  const expires = new Date(at.getTime() + deadlineSeconds * 1000);
  for (let round = 0; round < 2; round++) {
    const secret = tokenSecretPart(random);
    const created = await kube.create(
      bootstrapTokenSecret({ id: ref.id, secret, expires, taskName: task.name }),
    );
    if (created.outcome === 'created') return { token: { id: ref.id, secret, expires }, reused: false };
    // The adapter read the existing Secret by name (create, then get: no list).
    const existing = created.object;
    if (!isTaskBootstrapToken(existing, task.name)) {
      throw new TransientError(
        `bootstrap token ${ref.name} exists and was not created by task ${task.name}; it is left alone`,
      );
    }
    const usable = usableBootstrapToken(existing, at);
    if (usable) return { token: usable, reused: true };
    await kube.delete(ref, { resourceVersion: existing.metadata.resourceVersion ?? '' });
  }
  throw new TransientError(`bootstrap token ${ref.name} changed while being created; try again`);
}

/** Deletes the execution's token if it is there and is this task's; what the outcome was. */
export async function deleteTaskToken(
  kube: Kube,
  task: Pick<TaskRef, 'name' | 'executionId'>,
): Promise<'deleted' | 'absent' | 'foreign'> {
  const ref = tokenRef(task);
  const existing = await kube.get<SecretObject>(ref);
  if (existing === undefined) return 'absent';
  if (!isTaskBootstrapToken(existing, task.name)) return 'foreign';
  const outcome = await kube.delete(ref, { resourceVersion: existing.metadata.resourceVersion ?? '' });
  return outcome === 'deleted' ? 'deleted' : 'absent';
}
