/**
 * Prepare cluster: everything the install Jobs mount, owned by the task object so deleting the task
 * deletes them. Idempotent: a retried or repeated Prepare adopts what exists and refreshes it.
 */
import { TASK_NAMESPACE, type NodeWork, type PrepareInput, type TaskRef } from '../domain/contracts';
import { caCertHash, joinAddress, parseClusterInfo } from '../domain/ca-hash';
import { taskObjectName } from '../domain/job-names';
import { credentialSecret } from '../domain/credential-secret';
import type { ConfigMapObject, KubeObject } from '../domain/kube-types';
import type { PreparedTask } from '../domain/prepared-task';
import { scriptConfigMap } from '../domain/script-config-map';
import { TaskObjectKeys, taskObject } from '../domain/task-object';
import { nodeTaskOwnerReference, type NodeTaskObject } from '../domain/node-task-status';
import { ensureTaskToken } from './bootstrap-token';
import { ClusterInfoInvalidError, TaskConflictError, TransientError } from '../errors';
import type { Dependencies, Kube, SshCredential } from '../ports';
import { now, parseTaskRef, record } from './common';
import { holdLock } from './lock';
import { adoptNodeTask } from './node-task-adopt';
import { parseWorkRef, readSkipped, readWorkList, type Named } from './work-store';

const MAX_ROUNDS = 5;

export function parsePrepareInput(payload: unknown): PrepareInput {
  const body = record(payload, 'payload');
  return { task: parseTaskRef(body.task, 'payload.task'), work: parseWorkRef(body.work, 'payload.work') };
}

/** Creates the object, or brings an existing one to the built state (keeping nothing of its old content). */
export async function createOrReplace<T extends KubeObject>(kube: Kube, object: T): Promise<T> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const created = await kube.create(object);
    if (created.outcome === 'created') return created.object;
    const resourceVersion = created.object.metadata.resourceVersion;
    const replaced = await kube.replace({
      ...object,
      metadata: { ...object.metadata, ...(resourceVersion ? { resourceVersion } : {}) },
    });
    if (replaced !== 'conflict' && replaced !== 'absent') return replaced;
  }
  throw new TransientError(
    `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name} kept changing while being written; try again`,
  );
}

function assignmentOf(nodes: readonly NodeWork[], skipped: readonly Named[]): Record<string, string> {
  const assignment: Record<string, string> = {};
  for (const n of [...skipped, ...nodes]) assignment[n.name] = n.ip;
  return assignment;
}

/**
 * The task object, created or adopted (a re-run of the same task): it records this run. Owned by
 * the NodeTask when there is one, so `kubectl delete nt` removes it and, through it, the rest.
 */
async function ensureTaskObject(
  kube: Kube,
  planned: { task: TaskRef; nodes: readonly NodeWork[]; skipped: readonly Named[] },
  nodeTask: NodeTaskObject | undefined,
): Promise<ConfigMapObject> {
  const { task, nodes, skipped } = planned;
  const proxyNodes = [...new Set(nodes.map((n) => n.proxyNode).filter((p) => p !== ''))];
  const nodeStatus = Object.fromEntries(nodes.map((n) => [n.name, n.ip]));
  const built = taskObject(
    {
      task,
      assignment: assignmentOf(nodes, skipped),
      status: { nodetaskStatus: nodes.length === 0 ? 'ready' : 'creating', nodeStatus },
    },
    proxyNodes,
  );
  const ownerReferences = nodeTask === undefined ? undefined : [nodeTaskOwnerReference(nodeTask)];
  if (ownerReferences !== undefined) built.metadata.ownerReferences = ownerReferences;
  const created = await kube.create(built);
  if (created.outcome === 'created') return created.object;
  const existing = created.object;
  if ((existing.data?.[TaskObjectKeys.specDigest] ?? '') !== (task.specDigest ?? '')) {
    throw new TaskConflictError(
      `task ${task.name} already exists with a different spec; a task cannot be updated: delete it ` +
        `(ConfigMap ${TASK_NAMESPACE}/${taskObjectName(task.name)}) or use a new name`,
    );
  }
  const patch = {
    ...(ownerReferences === undefined ? {} : { metadata: { ownerReferences } }),
    data: {
      [TaskObjectKeys.executionId]: task.executionId,
      [TaskObjectKeys.assignment]: built.data![TaskObjectKeys.assignment]!,
      [TaskObjectKeys.status]: built.data![TaskObjectKeys.status]!,
    },
  };
  const patched = await kube.mergePatch<ConfigMapObject>(
    { kind: 'ConfigMap', namespace: TASK_NAMESPACE, name: built.metadata.name },
    patch,
  );
  if (patched === 'absent')
    throw new TransientError(`task object ${built.metadata.name} was deleted while being adopted; try again`);
  return patched;
}

/** The join address and CA hash, from kube-public/cluster-info (what kubeadm join discovers). */
async function joinParameters(kube: Kube, cluster: string): Promise<{ server: string; caHash: string }> {
  const info = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: 'kube-public',
    name: 'cluster-info',
  });
  const kubeconfig = info?.data?.kubeconfig;
  if (kubeconfig === undefined) {
    throw new ClusterInfoInvalidError(
      `cluster ${cluster}: kube-public/cluster-info is missing or has no kubeconfig; publish it (kubeadm init phase bootstrap-token)`,
    );
  }
  const { server, caPem } = parseClusterInfo(kubeconfig);
  return { server: joinAddress(server), caHash: caCertHash(caPem) };
}

function mergedKnownHosts(credential: SshCredential, task: TaskRef): string | undefined {
  const parts = [credential.knownHosts, task.knownHosts].filter(
    (p): p is string => p !== undefined && p.trim() !== '',
  );
  return parts.length === 0 ? undefined : parts.map((p) => p.trimEnd()).join('\n');
}

export async function prepare(deps: Dependencies, payload: unknown): Promise<TaskRef> {
  const input = parsePrepareInput(payload);
  const { task } = input;
  const kube = await deps.kube(task.cluster);
  await holdLock(deps, kube, task);

  const [nodes, skipped] = await Promise.all([readWorkList(deps, input.work), readSkipped(deps, input.work)]);
  const planned = { task, nodes, skipped };
  const nodeTask = await adoptNodeTask(deps, kube, { ...planned, assignment: assignmentOf(nodes, skipped) });
  const owner = await ensureTaskObject(kube, planned, nodeTask);
  const prepared: PreparedTask = {
    ...task,
    ownerUid: owner.metadata.uid ?? '',
    taskObject: owner.metadata.name,
    credentialSecret: '',
    scriptConfigMap: '',
  };
  if (prepared.ownerUid === '')
    throw new TransientError(`task object ${owner.metadata.name} came back without a uid`);

  const join = await joinParameters(kube, task.cluster);
  const { token, reused } = await ensureTaskToken(
    kube,
    task,
    now(deps),
    deps.settings.taskDeadlineSeconds,
    deps.random,
  );

  const stored = await deps.credentials.get(task.credential);
  const knownHosts = mergedKnownHosts(stored, task);
  const secret = await createOrReplace(
    kube,
    credentialSecret({
      task: prepared,
      credential: { ...stored, ...(knownHosts === undefined ? {} : { knownHosts }) },
      bootstrapToken: `${token.id}.${token.secret}`,
    }),
  );
  const script = await createOrReplace(
    kube,
    scriptConfigMap({
      task: prepared,
      scripts: await deps.installScript(),
      join,
      packageSource: deps.settings.packageSource,
    }),
  );

  deps.log.info('prepared', {
    taskObject: owner.metadata.name,
    tokenId: token.id,
    tokenReused: reused,
    server: join.server,
    caHash: join.caHash,
    nodes: nodes.length,
    skipped: skipped.length,
  });
  return { ...prepared, credentialSecret: secret.metadata.name, scriptConfigMap: script.metadata.name };
}
