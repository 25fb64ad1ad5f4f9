/**
 * The install Job: one attempt on one node.
 */
import { InstallEnv, InstallPaths, TASK_NAMESPACE, type NodeWork } from './contracts';
import { packagePathInJob, splitPackagePath, type PackageSource } from './install-package';
import {
  ATTEMPT_LABEL,
  IP_ANNOTATION,
  NODE_ANNOTATION,
  NODE_HASH_LABEL,
  PROXY_ANNOTATION,
  RUN_LABEL,
  installJobName,
  nodeHash,
  runHash,
} from './job-names';
import type { EnvVar, JobObject, PodSpec, Volume, VolumeMount } from './kube-types';
import { managedLabels, ownerReference, type PreparedTask } from './prepared-task';
import { ScriptKeys } from './script-config-map';

export interface InstallJobInput {
  task: PreparedTask;
  node: NodeWork;
  attempt: number;
  image: string;
  imagePullPolicy: string;
  packageSource: PackageSource;
  ttlSecondsAfterFinished: number;
}

const CONTAINER_NAME = 'install';
/**
 * The unprivileged user of the installer image (installer/Dockerfile). The Secret's files are
 * group-readable and the Pod's fsGroup makes that group the user's, so no one else may read them.
 */
export const INSTALLER_UID = 10001;

function packageVolume(source: PackageSource): Volume | undefined {
  switch (source.kind) {
    case 'image':
    case 'none':
      return undefined;
    case 'hostPath':
      // The package's directory, so a name with {arch} can pick either architecture's file.
      return { name: 'package', hostPath: { path: splitPackagePath(source.path).dir, type: 'Directory' } };
    case 'url':
      // Writable scratch space: the script downloads the package there once per attempt.
      return { name: 'package', emptyDir: {} };
  }
}

/**
 * In proxy mode the Pod must run on the proxy node, the only machine that reaches the targets; in
 * direct mode the cluster's own nodes reach them, so any node will do. Control-plane taints are
 * tolerated because a proxy node may well be a control-plane node.
 */
function placement(node: NodeWork): Pick<PodSpec, 'affinity' | 'tolerations'> {
  const tolerations = [
    { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (node.proxyNode === '') return { tolerations };
  return {
    tolerations,
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node.proxyNode] }],
            },
          ],
        },
      },
    },
  };
}

/**
 * One install attempt on one node. Everything that comes from the NodeTask (address, node name,
 * user, port) reaches the script as an environment variable; the command line is constant, so no
 * task value is ever parsed by a shell. Secrets are files (InstallPaths.credential), never variables.
 */
export function installJob(input: InstallJobInput): JobObject {
  const { task, node, attempt } = input;
  // kubeadm takes no package: its Job gets no path and no volume, whatever the deployment's source.
  const packageSource: PackageSource = task.installer === 'kubeadm' ? { kind: 'none' } : input.packageSource;
  const name = installJobName(task.name, task.executionId, node.name, attempt);
  const labels = {
    ...managedLabels(task.name),
    [NODE_HASH_LABEL]: nodeHash(node.name),
    [RUN_LABEL]: runHash(task.executionId),
    [ATTEMPT_LABEL]: String(attempt),
  };
  const annotations = {
    [NODE_ANNOTATION]: node.name,
    [IP_ANNOTATION]: node.ip,
    ...(node.proxyNode === '' ? {} : { [PROXY_ANNOTATION]: node.proxyNode }),
  };
  const env: EnvVar[] = [
    { name: InstallEnv.targetIp, value: node.ip },
    { name: InstallEnv.nodeName, value: node.name },
    { name: InstallEnv.sshUser, value: task.sshUser },
    { name: InstallEnv.sshPort, value: String(task.sshPort) },
    { name: InstallEnv.installer, value: task.installer },
    { name: InstallEnv.paramsFile, value: `${InstallPaths.script}/${ScriptKeys.params}` },
    { name: InstallEnv.credentialDir, value: InstallPaths.credential },
  ];
  if (packageSource.kind !== 'none') {
    env.push({ name: InstallEnv.packagePath, value: packagePathInJob(packageSource) });
  }
  const volumes: Volume[] = [
    // Read-only for everyone: the script runs through /bin/sh, it needs no execute bit.
    { name: 'script', configMap: { name: task.scriptConfigMap, defaultMode: 0o444 } },
    { name: 'credential', secret: { secretName: task.credentialSecret, defaultMode: 0o440 } },
  ];
  const mounts: VolumeMount[] = [
    { name: 'script', mountPath: InstallPaths.script, readOnly: true },
    { name: 'credential', mountPath: InstallPaths.credential, readOnly: true },
  ];
  const pkg = packageVolume(packageSource);
  if (pkg) {
    volumes.push(pkg);
    mounts.push({
      name: pkg.name,
      mountPath: InstallPaths.package,
      readOnly: packageSource.kind === 'hostPath',
    });
  }
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: TASK_NAMESPACE,
      labels,
      annotations,
      ownerReferences: [ownerReference(task)],
    },
    spec: {
      // Retries belong to Step Functions (visible, with backoff); the Job makes exactly one try.
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: task.attemptTimeoutSeconds,
      ttlSecondsAfterFinished: input.ttlSecondsAfterFinished,
      template: {
        metadata: { labels, annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // The proxy reaches the site's intranet from its own network, not necessarily from the pod network.
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          ...placement(node),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: INSTALLER_UID,
            runAsGroup: INSTALLER_UID,
            fsGroup: INSTALLER_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER_NAME,
              image: input.image,
              imagePullPolicy: input.imagePullPolicy,
              command: ['/bin/sh', `${InstallPaths.script}/${ScriptKeys.script}`],
              env,
              volumeMounts: mounts,
              securityContext: {
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
              },
              // The script's last output lines become the failure reason the workflow reports.
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes,
        },
      },
    },
  };
}
