import { describe, expect, it } from 'vitest';
import { InstallEnv, InstallPaths, type NodeWork } from '../../../lambdas/domain/contracts';
import { installJobName, shortHash } from '../../../lambdas/domain/job-names';
import {
  bootstrapTokenSecret,
  usableBootstrapToken,
  bootstrapTokenIdFor,
  isTaskBootstrapToken,
} from '../../../lambdas/domain/bootstrap-token-secret';
import { credentialSecret } from '../../../lambdas/domain/credential-secret';
import { installJob, type InstallJobInput } from '../../../lambdas/domain/install-job';
import { microTime } from '../../../lambdas/domain/kube-time';
import type { SecretObject } from '../../../lambdas/domain/kube-types';
import { holderTask, leaseExpired, lockLease } from '../../../lambdas/domain/lock-lease';
import type { PreparedTask } from '../../../lambdas/domain/prepared-task';
import { paramsFile, scriptConfigMap } from '../../../lambdas/domain/script-config-map';
import { canonicalJson, specDigest } from '../../../lambdas/domain/spec-digest';
import { taskEvent } from '../../../lambdas/domain/task-events';
import { taskObject } from '../../../lambdas/domain/task-object';

const task: PreparedTask = {
  name: 'add-nodes',
  cluster: 'prod',
  labelValue: 'add-nodes-k3j9x2',
  mode: 'proxy',
  installer: 'edgeadm',
  credential: 'edge-root',
  sshUser: 'root',
  sshPort: 2222,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:penetrator:run-1',
  maxAttempts: 3,
  attemptTimeoutSeconds: 900,
  pollSeconds: 15,
  ownerUid: '6f1c1a52-0000-4000-8000-000000000001',
  taskObject: 'penetrator-task-add-nodes',
  credentialSecret: 'penetrator-credential-add-nodes',
  scriptConfigMap: 'penetrator-script-add-nodes',
};
const node: NodeWork = {
  name: 'edge-abc123',
  ip: '198.18.0.10',
  proxyNode: 'vm-2-117-centos',
  reinstall: false,
};

function jobInput(overrides: Partial<InstallJobInput> = {}): InstallJobInput {
  return {
    task,
    node,
    attempt: 1,
    image: 'registry.example/penetrator-installer:0.1.0',
    imagePullPolicy: 'IfNotPresent',
    packageSource: { kind: 'image', path: '/opt/edge/edgeadm.tgz' },
    ttlSecondsAfterFinished: 86400,
    ...overrides,
  };
}

const owner = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  name: 'penetrator-task-add-nodes',
  uid: task.ownerUid,
  controller: false,
  blockOwnerDeletion: true,
};

/** Every string leaf of a value with its path, to find where a given text ended up. */
function stringLeaves(value: unknown, path = '$'): Array<[string, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, `${path}.${k}`));
  }
  return [];
}

describe('installJob', () => {
  it('builds one attempt pinned to the proxy node, owned by the task object', () => {
    const job = installJob(jobInput());
    const name = installJobName(task.name, task.executionId, node.name, 1);
    expect(job.metadata).toEqual({
      name,
      namespace: 'edge-system',
      labels: {
        'app.kubernetes.io/managed-by': 'penetrator',
        'penetrator.superedge.io/task': 'add-nodes',
        'penetrator.superedge.io/node-hash': shortHash('edge-abc123'),
        'penetrator.superedge.io/run': shortHash(task.executionId),
        'penetrator.superedge.io/attempt': '1',
      },
      annotations: {
        'penetrator.superedge.io/node': 'edge-abc123',
        'penetrator.superedge.io/ip': '198.18.0.10',
        'penetrator.superedge.io/proxy-node': 'vm-2-117-centos',
      },
      ownerReferences: [owner],
    });
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 86400,
      completions: 1,
      parallelism: 1,
    });
    const pod = job.spec!.template.spec!;
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: true,
    });
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'kubernetes.io/hostname', operator: 'In', values: ['vm-2-117-centos'] },
              ],
            },
          ],
        },
      },
    });
    expect(pod.tolerations).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(job.spec!.template.metadata!.labels).toEqual(job.metadata.labels);
  });

  it('runs the mounted script with a constant command and passes the task through env and files', () => {
    const container = installJob(jobInput()).spec!.template.spec!.containers[0]!;
    expect(container.command).toEqual(['/bin/sh', '/opt/penetrator/script/install.sh']);
    expect(container.image).toBe('registry.example/penetrator-installer:0.1.0');
    expect(container.env).toEqual([
      { name: InstallEnv.targetIp, value: '198.18.0.10' },
      { name: InstallEnv.nodeName, value: 'edge-abc123' },
      { name: InstallEnv.sshUser, value: 'root' },
      { name: InstallEnv.sshPort, value: '2222' },
      { name: InstallEnv.installer, value: 'edgeadm' },
      { name: InstallEnv.paramsFile, value: `${InstallPaths.script}/params` },
      { name: InstallEnv.credentialDir, value: InstallPaths.credential },
      { name: InstallEnv.packagePath, value: '/opt/edge/edgeadm.tgz' },
    ]);
    expect(container.volumeMounts).toEqual([
      { name: 'script', mountPath: InstallPaths.script, readOnly: true },
      { name: 'credential', mountPath: InstallPaths.credential, readOnly: true },
    ]);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(installJob(jobInput()).spec!.template.spec!.volumes).toEqual([
      { name: 'script', configMap: { name: 'penetrator-script-add-nodes', defaultMode: 0o444 } },
      { name: 'credential', secret: { secretName: 'penetrator-credential-add-nodes', defaultMode: 0o440 } },
    ]);
    // The installer image's user reads the Secret through the Pod's fsGroup; nobody else can.
    expect(installJob(jobInput()).spec!.template.spec!.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('puts every task string in an env value or an annotation, never in the command', () => {
    const hostile = "x'; touch /tmp/pwned; echo '$(id)`id`";
    const job = installJob(
      jobInput({
        task: { ...task, sshUser: `u${hostile}`, installer: 'kubeadm' },
        node: { ...node, ip: `ip${hostile}`, name: `n${hostile}` },
      }),
    );
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.command).toEqual(['/bin/sh', '/opt/penetrator/script/install.sh']);
    const where = stringLeaves(job)
      .filter(([, v]) => v.includes(hostile))
      .map(([path]) => path.replace(/\[\d+\]/g, '[]'));
    expect(new Set(where)).toEqual(
      new Set([
        '$.metadata.annotations.penetrator.superedge.io/node',
        '$.metadata.annotations.penetrator.superedge.io/ip',
        '$.spec.template.metadata.annotations.penetrator.superedge.io/node',
        '$.spec.template.metadata.annotations.penetrator.superedge.io/ip',
        '$.spec.template.spec.containers[].env[].value',
      ]),
    );
    const envValues = container.env!.map((e) => e.value);
    expect(envValues).toEqual(expect.arrayContaining([`ip${hostile}`, `n${hostile}`, `u${hostile}`]));
  });

  it('never carries the password, key or bootstrap token', () => {
    const secret = credentialSecret({
      task,
      credential: { passwd: 'pw-Secret-1', sshkey: undefined },
      bootstrapToken: 'abcdef.0123456789abcdef',
    });
    expect(secret.stringData).toMatchObject({ passwd: 'pw-Secret-1', token: 'abcdef.0123456789abcdef' });
    for (const source of [
      { kind: 'image', path: '/p' },
      { kind: 'hostPath', path: '/srv/pkg' },
      { kind: 'url', url: 'https://pkg.example/e.tgz' },
    ] as const) {
      const json = JSON.stringify(installJob(jobInput({ packageSource: source })));
      for (const secretText of ['pw-Secret-1', '0123456789abcdef', 'abcdef.'])
        expect(json).not.toContain(secretText);
    }
  });

  it('mounts the package from the proxy node, or a scratch directory for a download', () => {
    const hostPath = installJob(
      jobInput({ packageSource: { kind: 'hostPath', path: '/srv/edge/pkg-{arch}.tgz' } }),
    ).spec!.template.spec!;
    expect(hostPath.volumes![2]).toEqual({
      name: 'package',
      hostPath: { path: '/srv/edge', type: 'Directory' },
    });
    expect(hostPath.containers[0]!.volumeMounts![2]).toEqual({
      name: 'package',
      mountPath: InstallPaths.package,
      readOnly: true,
    });
    expect(hostPath.containers[0]!.env!.at(-1)).toEqual({
      name: InstallEnv.packagePath,
      value: `${InstallPaths.package}/pkg-{arch}.tgz`,
    });

    const url = installJob(jobInput({ packageSource: { kind: 'url', url: 'https://pkg.example/e.tgz' } }))
      .spec!.template.spec!;
    expect(url.volumes![2]).toEqual({ name: 'package', emptyDir: {} });
    expect(url.containers[0]!.env!.at(-1)).toEqual({
      name: InstallEnv.packagePath,
      value: `${InstallPaths.package}/e.tgz`,
    });
    const odd = installJob(
      jobInput({ packageSource: { kind: 'url', url: 'https://pkg.example/download/?id=7' } }),
    ).spec!.template.spec!;
    expect(odd.containers[0]!.env!.at(-1)).toEqual({
      name: InstallEnv.packagePath,
      value: `${InstallPaths.package}/package.tar.gz`,
    });
  });

  it('gives a kubeadm-only deployment no package: no path, no volume, an empty PACKAGE', () => {
    const pod = installJob(jobInput({ packageSource: { kind: 'none' } })).spec!.template.spec!;
    expect(pod.volumes!.map((v) => v.name)).toEqual(['script', 'credential']);
    expect(pod.containers[0]!.volumeMounts!.map((m) => m.name)).toEqual(['script', 'credential']);
    expect(pod.containers[0]!.env!.map((e) => e.name)).not.toContain(InstallEnv.packagePath);
    expect(paramsFile({ server: '10.0.0.1:6443', caHash: 'sha256:x' }, { kind: 'none' })).toBe(
      'SERVER=10.0.0.1:6443\nCA_HASH=sha256:x\nPACKAGE=\n',
    );
  });

  it('gives a kubeadm task no package, whatever the source', () => {
    const pod = installJob(
      jobInput({
        task: { ...task, installer: 'kubeadm' },
        packageSource: { kind: 'hostPath', path: '/srv/edge/pkg-{arch}.tgz' },
      }),
    ).spec!.template.spec!;
    expect(pod.volumes!.map((v) => v.name)).toEqual(['script', 'credential']);
    expect(pod.containers[0]!.env!.map((e) => e.name)).not.toContain(InstallEnv.packagePath);
  });

  it('lets a direct-mode Job run on any node', () => {
    const pod = installJob(jobInput({ node: { ...node, proxyNode: '' } })).spec!.template.spec!;
    expect(pod.affinity).toBeUndefined();
    expect(pod.tolerations).toHaveLength(2);
  });

  it('keeps Job names short, distinct per run, node and attempt, whatever the names', () => {
    const long = 'n'.repeat(63);
    const name = installJobName('t'.repeat(56), task.executionId, long, 99);
    expect(name).toMatch(/^pn-[0-9a-f]{10}-[0-9a-f]{10}-99$/);
    expect(name.length).toBeLessThanOrEqual(63);
    const names = new Set([
      installJobName('a', 'run-1', 'edge-1', 1),
      installJobName('a', 'run-1', 'edge-1', 2),
      installJobName('a', 'run-2', 'edge-1', 1),
      installJobName('a', 'run-1', 'edge-2', 1),
      installJobName('b', 'run-1', 'edge-1', 1),
    ]);
    expect(names.size).toBe(5);
    expect(() => installJobName('a', 'r', 'n', 0)).toThrow(RangeError);
    expect(() => installJobName('a', 'r', 'n', 100)).toThrow(RangeError);
  });
});

describe('credentialSecret', () => {
  it('projects the key, the token and host keys into an owned Opaque Secret', () => {
    const secret = credentialSecret({
      task,
      credential: { sshkey: 'KEY', passwd: 'also-set', knownHosts: '198.18.0.10 ssh-ed25519 AAAA' },
      bootstrapToken: 'abcdef.0123456789abcdef',
    });
    expect(secret).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'penetrator-credential-add-nodes',
        namespace: 'edge-system',
        labels: { 'app.kubernetes.io/managed-by': 'penetrator', 'penetrator.superedge.io/task': 'add-nodes' },
        ownerReferences: [owner],
      },
      stringData: {
        sshkey: 'KEY',
        token: 'abcdef.0123456789abcdef',
        known_hosts: '198.18.0.10 ssh-ed25519 AAAA\n',
      },
    });
  });

  it('refuses a credential with nothing to log in with', () => {
    expect(() => credentialSecret({ task, credential: { knownHosts: 'x' }, bootstrapToken: 'a.b' })).toThrow(
      /neither sshkey nor passwd/,
    );
  });
});

describe('script ConfigMap and params', () => {
  it('writes both scripts and the join parameters, one KEY=value per line', () => {
    const cm = scriptConfigMap({
      task,
      scripts: { install: '#!/bin/sh\necho hi\n', remote: 'penetrator_remote() { :; }\n' },
      join: { server: '10.0.0.1:6443', caHash: `sha256:${'a'.repeat(64)}` },
      packageSource: { kind: 'url', url: 'https://pkg.example/e.tgz' },
    });
    expect(cm.metadata.ownerReferences).toEqual([owner]);
    expect(cm.data).toEqual({
      'install.sh': '#!/bin/sh\necho hi\n',
      'remote.sh': 'penetrator_remote() { :; }\n',
      params: `SERVER=10.0.0.1:6443\nCA_HASH=sha256:${'a'.repeat(64)}\nPACKAGE=/opt/penetrator/package/e.tgz\nPACKAGE_URL=https://pkg.example/e.tgz\n`,
    });
  });

  it('refuses a value that would forge a line', () => {
    expect(() =>
      paramsFile(
        { server: '10.0.0.1:6443\nPACKAGE=/etc/shadow', caHash: 'sha256:x' },
        { kind: 'image', path: '/p' },
      ),
    ).toThrow(/line break/);
  });
});

describe('task object', () => {
  it('records spec, digest, label value, assignment, status and execution', () => {
    const object = taskObject(
      {
        task: { ...task, specDigest: 'sha256:0123456789' },
        assignment: { 'edge-b': '198.18.0.11', 'edge-a': '198.18.0.10' },
        status: { nodetaskStatus: 'creating', nodeStatus: { 'edge-a': '198.18.0.10' } },
      },
      ['vm-2-117-centos'],
    );
    expect(object.metadata).toEqual({
      name: 'penetrator-task-add-nodes',
      namespace: 'edge-system',
      labels: { 'app.kubernetes.io/managed-by': 'penetrator', 'penetrator.superedge.io/task': 'add-nodes' },
    });
    expect(object.data).toMatchObject({
      specDigest: 'sha256:0123456789',
      labelValue: 'add-nodes-k3j9x2',
      assignment: '{"edge-a":"198.18.0.10","edge-b":"198.18.0.11"}',
      status: '{"nodeStatus":{"edge-a":"198.18.0.10"},"nodetaskStatus":"creating"}',
      executionId: task.executionId,
    });
    expect(JSON.parse(object.data!.spec!)).toMatchObject({
      sshCredential: 'edge-root',
      sshPort: 2222,
      proxyNodes: ['vm-2-117-centos'],
    });
  });

  it('digests a spec independently of key order', () => {
    expect(specDigest({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      specDigest({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
    expect(specDigest({ a: 1 })).not.toBe(specDigest({ a: 2 }));
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

describe('lock Lease', () => {
  const at = new Date('2026-11-24T10:00:00.123Z');

  it('builds a Lease held by <task>/<execution> for the given duration', () => {
    expect(
      lockLease({ name: 'penetrator-lock', holder: 'add-nodes/run-1', durationSeconds: 3600, now: at }),
    ).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'penetrator-lock',
        namespace: 'edge-system',
        labels: { 'app.kubernetes.io/managed-by': 'penetrator' },
      },
      spec: {
        holderIdentity: 'add-nodes/run-1',
        leaseDurationSeconds: 3600,
        acquireTime: '2026-11-24T10:00:00.123000Z',
        renewTime: '2026-11-24T10:00:00.123000Z',
        leaseTransitions: 0,
      },
    });
  });

  it('carries the resourceVersion it replaces and counts a change of holder', () => {
    const held = lockLease({ name: 'l', holder: 'old/run', durationSeconds: 60, now: at });
    const previous = { ...held, metadata: { ...held.metadata, resourceVersion: '42' } };
    const taken = lockLease({
      name: 'l',
      holder: 'new/run',
      durationSeconds: 60,
      now: new Date(at.getTime() + 120_000),
      previous,
    });
    expect(taken.metadata.resourceVersion).toBe('42');
    expect(taken.spec.leaseTransitions).toBe(1);
    expect(taken.spec.acquireTime).toBe(microTime(new Date(at.getTime() + 120_000)));
    const renewed = lockLease({
      name: 'l',
      holder: 'old/run',
      durationSeconds: 60,
      now: new Date(at.getTime() + 1000),
      previous,
    });
    expect(renewed.spec.leaseTransitions).toBe(0);
    expect(renewed.spec.acquireTime).toBe(previous.spec.acquireTime);
  });

  it('is expired once its duration has passed since the last renewal', () => {
    const lease = lockLease({ name: 'l', holder: 'h/r', durationSeconds: 60, now: at });
    expect(leaseExpired(lease, new Date(at.getTime() + 59_000))).toBe(false);
    expect(leaseExpired(lease, new Date(at.getTime() + 60_000))).toBe(true);
    expect(leaseExpired({ ...lease, spec: {} }, at)).toBe(true);
    expect(holderTask('add-nodes/run-1')).toBe('add-nodes');
  });
});

describe('bootstrap token', () => {
  it('has an id derived from the execution: a valid token id, the same every time, another per execution', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:penetrator:prod--nodes--abc';
    expect(bootstrapTokenIdFor(arn)).toMatch(/^[a-z0-9]{6}$/);
    expect(bootstrapTokenIdFor(arn)).toBe(bootstrapTokenIdFor(arn));
    const ids = new Set(Array.from({ length: 50 }, (_, i) => bootstrapTokenIdFor(`${arn}-${i}`)));
    expect(ids.size).toBe(50);
  });

  it("is the task's only when it carries the task's labels", () => {
    const ours = bootstrapTokenSecret({
      id: 'abc123',
      secret: '0123456789abcdef',
      expires: new Date('2026-12-01T00:00:00Z'),
      taskName: 'add-nodes',
    });
    expect(isTaskBootstrapToken(ours, 'add-nodes')).toBe(true);
    expect(isTaskBootstrapToken(ours, 'other')).toBe(false);
    expect(isTaskBootstrapToken({ ...ours, metadata: { ...ours.metadata, labels: {} } }, 'add-nodes')).toBe(
      false,
    );
  });

  const expires = new Date('2026-11-25T10:00:00.000Z');

  it('builds the kube-system Secret kubeadm join authenticates with', () => {
    expect(
      bootstrapTokenSecret({ id: 'abc123', secret: '0123456789abcdef', expires, taskName: 'add-nodes' }),
    ).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'bootstrap.kubernetes.io/token',
      metadata: {
        name: 'bootstrap-token-abc123',
        namespace: 'kube-system',
        labels: { 'app.kubernetes.io/managed-by': 'penetrator', 'penetrator.superedge.io/task': 'add-nodes' },
      },
      stringData: {
        description: 'Joins the nodes of Penetrator task add-nodes',
        'token-id': 'abc123',
        'token-secret': '0123456789abcdef',
        expiration: '2026-11-25T10:00:00Z',
        'usage-bootstrap-authentication': 'true',
        'usage-bootstrap-signing': 'true',
        'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
      },
    });
    expect(() =>
      bootstrapTokenSecret({ id: 'ABC123', secret: '0123456789abcdef', expires, taskName: 't' }),
    ).toThrow();
    expect(() => bootstrapTokenSecret({ id: 'abc123', secret: 'short', expires, taskName: 't' })).toThrow();
  });

  function stored(fields: Record<string, string>, name = 'bootstrap-token-abc123'): SecretObject {
    const data = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'bootstrap.kubernetes.io/token',
      metadata: { name, namespace: 'kube-system' },
      data,
    };
  }
  const valid = {
    'token-id': 'abc123',
    'token-secret': '0123456789abcdef',
    expiration: '2026-11-25T10:00:00Z',
    'usage-bootstrap-authentication': 'true',
    'auth-extra-groups': 'system:bootstrappers:other,system:bootstrappers:kubeadm:default-node-token',
  };

  it('reuses a token valid for the whole task, and no other', () => {
    const before = new Date('2026-11-25T09:00:00Z');
    const after = new Date('2026-11-25T11:00:00Z');
    expect(usableBootstrapToken(stored(valid), before)).toEqual({
      id: 'abc123',
      secret: '0123456789abcdef',
      expires: new Date('2026-11-25T10:00:00Z'),
    });
    expect(usableBootstrapToken(stored(valid), after)).toBeUndefined();
    const forever: Record<string, string> = { ...valid };
    delete forever.expiration;
    expect(usableBootstrapToken(stored(forever), after)).toEqual({
      id: 'abc123',
      secret: '0123456789abcdef',
    });
    expect(
      usableBootstrapToken(stored({ ...valid, 'auth-extra-groups': 'system:bootstrappers:other' }), before),
    ).toBeUndefined();
    expect(
      usableBootstrapToken(stored({ ...valid, 'usage-bootstrap-authentication': 'false' }), before),
    ).toBeUndefined();
    expect(usableBootstrapToken(stored(valid, 'bootstrap-token-zzz999'), before)).toBeUndefined();
  });
});

describe('taskEvent', () => {
  const at = new Date('2026-11-24T10:00:00.500Z');

  it('reports on the task object with a name that makes a retried create collide', () => {
    const event = taskEvent({
      task,
      reason: 'NodeInstallFailed',
      message: 'node edge-a\n failed:   exit 3',
      key: 'edge-a',
      now: at,
    });
    expect(event).toMatchObject({
      involvedObject: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'penetrator-task-add-nodes',
        namespace: 'edge-system',
        uid: task.ownerUid,
      },
      reason: 'NodeInstallFailed',
      type: 'Warning',
      message: 'node edge-a failed: exit 3',
      firstTimestamp: '2026-11-24T10:00:00Z',
      count: 1,
    });
    expect(event.metadata.name).toBe(
      taskEvent({ task, reason: 'NodeInstallFailed', message: 'other', key: 'edge-a', now: at }).metadata
        .name,
    );
    expect(event.metadata.name).not.toBe(
      taskEvent({ task, reason: 'NodeInstallFailed', message: 'x', key: 'edge-b', now: at }).metadata.name,
    );
    expect(taskEvent({ task, reason: 'TaskSucceeded', message: 'ok', now: at }).type).toBe('Normal');
    expect([
      ...taskEvent({ task, reason: 'TaskFailed', message: 'é'.repeat(5000), now: at }).message,
    ]).toHaveLength(1024);
  });
});
