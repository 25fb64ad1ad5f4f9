/**
 * The script ConfigMap: the installer's two scripts and the join parameters they read.
 */
import { TASK_NAMESPACE } from './contracts';
import { packagePathInJob, type PackageSource } from './install-package';
import { sha256Params } from './package-checksum';
import { scriptConfigMapName } from './job-names';
import type { ConfigMapObject } from './kube-types';
import { managedLabels, ownerReference, type PreparedTask } from './prepared-task';

/**
 * The script ConfigMap's files: install.sh (what the Job runs), remote.sh (the part install.sh sends
 * to the target; direct mode sends the same text) and the join parameters.
 */
export const ScriptKeys = { script: 'install.sh', remote: 'remote.sh', params: 'params' } as const;

/** The installer's two files, as delivered to every task. */
export interface InstallerScripts {
  /** installer/install.sh: runs where the targets are reached from (the Job). */
  install: string;
  /** installer/remote.sh: runs on the target, read by `sh -s` from the SSH session's stdin. */
  remote: string;
}

export interface JoinParameters {
  /** host:port of the apiserver, from cluster-info. */
  server: string;
  /** `sha256:<hex>` of the CA's SubjectPublicKeyInfo. */
  caHash: string;
}

const PARAM_VALUE = /^[^\n\r\0]*$/;

/**
 * The params file: `KEY=value` lines the script reads line by line (never sources), so values need
 * no quoting; a newline in a value would forge a line and is refused.
 */
export function paramsFile(join: JoinParameters, source: PackageSource): string {
  const lines: Array<[string, string]> = [
    ['SERVER', join.server],
    ['CA_HASH', join.caHash],
    ['PACKAGE', packagePathInJob(source)],
  ];
  if (source.kind === 'url') lines.push(['PACKAGE_URL', source.url]);
  if (source.kind !== 'none') lines.push(...sha256Params(source.sha256));
  for (const [key, value] of lines) {
    if (!PARAM_VALUE.test(value)) throw new Error(`paramsFile: ${key} holds a line break`);
  }
  return lines.map(([key, value]) => `${key}=${value}\n`).join('');
}

export interface ScriptConfigMapInput {
  task: Pick<PreparedTask, 'name' | 'taskObject' | 'ownerUid'>;
  scripts: InstallerScripts;
  join: JoinParameters;
  packageSource: PackageSource;
}

export function scriptConfigMap(input: ScriptConfigMapInput): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: scriptConfigMapName(input.task.name),
      namespace: TASK_NAMESPACE,
      labels: managedLabels(input.task.name),
      ownerReferences: [ownerReference(input.task)],
    },
    data: {
      [ScriptKeys.script]: input.scripts.install,
      [ScriptKeys.remote]: input.scripts.remote,
      [ScriptKeys.params]: paramsFile(input.join, input.packageSource),
    },
  };
}
