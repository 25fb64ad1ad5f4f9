/**
 * Runtime settings of the handlers: from the Lambda environment (set by the CDK stack) or passed in
 * by the local runner. Validated at once, with one message listing every problem.
 */

import type { PackageSource } from './domain/install-package';
import { isClusterName } from './domain/name-rules';
import { ErrorNames } from './errors';

/** Where the install package comes from; in every case targets receive it from the proxy node. */
export type { PackageSource } from './domain/install-package';

export interface RuntimeSettings {
  /** Prefix of the Secrets Manager names: `<prefix>clusters/<name>`, `<prefix>credentials/<name>`. */
  secretPrefix: string;
  /** Image of the install Job (a shell, ssh, scp, sshpass). */
  installerImage: string;
  packageSource: PackageSource;
  /** Finished install Jobs are deleted this long after they end (their Pods with them). */
  jobTtlSecondsAfterFinished: number;
  /**
   * How long a task may run at most: the bootstrap token's lifetime. Matches the state machine's
   * timeout by default.
   */
  taskDeadlineSeconds: number;
  /**
   * The cluster lock Lease's duration. Every writing step renews it, so it only runs out when the
   * task's run has died: the cluster is free again at most this long after (ADR 0008). It must
   * outlast the longest pause between two steps (the attempt retry's maxDelay, 10 min by default).
   */
  lockLeaseSeconds: number;
  /** Cluster used when neither the execution input nor the NodeTask names one. */
  defaultCluster?: string;
  /** Install Jobs' image pull policy; `Never` fits clusters that preload the image. */
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * No trust on first use: every target's host key must be known before the task starts (from the
   * credential's known hosts or spec.knownHosts), else Plan refuses the task.
   */
  requireKnownHosts: boolean;
  /**
   * The workflow's retry of a node's install attempt (statemachine/retry-policies.ts), as the stack
   * configures it: the first pause and the longest one. Only read to tell people when the next
   * attempt comes (the node's Retrying Event); Step Functions does the waiting.
   */
  attemptIntervalSeconds: number;
  attemptMaxDelaySeconds: number;
}

export const settingsDefaults: RuntimeSettings = {
  secretPrefix: 'penetrator/',
  installerImage: 'penetrator-installer:0.1.0',
  packageSource: { kind: 'image', path: '/opt/penetrator/package' },
  jobTtlSecondsAfterFinished: 86_400,
  taskDeadlineSeconds: 86_400,
  lockLeaseSeconds: 900,
  imagePullPolicy: 'IfNotPresent',
  requireKnownHosts: false,
  attemptIntervalSeconds: 30,
  attemptMaxDelaySeconds: 600,
};

/** Environment variables read by settingsFromEnv (the CDK stack sets the first four). */
export const SettingsEnv = {
  secretPrefix: 'PENETRATOR_SECRET_PREFIX',
  installerImage: 'PENETRATOR_INSTALLER_IMAGE',
  packageSource: 'PENETRATOR_PACKAGE_SOURCE',
  defaultCluster: 'PENETRATOR_DEFAULT_CLUSTER',
  jobTtlSecondsAfterFinished: 'PENETRATOR_JOB_TTL_SECONDS',
  taskDeadlineSeconds: 'PENETRATOR_TASK_DEADLINE_SECONDS',
  lockLeaseSeconds: 'PENETRATOR_LOCK_LEASE_SECONDS',
  imagePullPolicy: 'PENETRATOR_IMAGE_PULL_POLICY',
  requireKnownHosts: 'PENETRATOR_REQUIRE_KNOWN_HOSTS',
  attemptIntervalSeconds: 'PENETRATOR_ATTEMPT_INTERVAL_SECONDS',
  attemptMaxDelaySeconds: 'PENETRATOR_ATTEMPT_MAX_DELAY_SECONDS',
} as const;

export class SettingsError extends Error {
  override readonly name = ErrorNames.SettingsError;
  constructor(readonly problems: readonly string[]) {
    super(`invalid runtime settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{0,400}$/;
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,254}$/;
const ABSOLUTE_PATH = /^\/[^\0\n]*$/;

function checkPackageSource(value: unknown, problems: string[]): void {
  const source = value as Partial<Record<'kind' | 'path' | 'url', unknown>> | null;
  const received = JSON.stringify(value);
  if (typeof source !== 'object' || source === null) {
    problems.push(
      `packageSource: received ${received}; expected {kind: image|hostPath, path} or {kind: url, url}`,
    );
  } else if (source.kind === 'image' || source.kind === 'hostPath') {
    if (typeof source.path !== 'string' || !ABSOLUTE_PATH.test(source.path) || source.path.endsWith('/')) {
      problems.push(
        `packageSource.path: received ${JSON.stringify(source.path)}; expected the absolute path of the package file`,
      );
    }
  } else if (source.kind === 'none') {
    // kubeadm only: nothing to check.
  } else if (source.kind === 'url') {
    if (typeof source.url !== 'string' || !/^https:\/\/[^\s]+$/.test(source.url)) {
      problems.push(`packageSource.url: received ${JSON.stringify(source.url)}; expected an https URL`);
    }
  } else {
    problems.push(
      `packageSource.kind: received ${JSON.stringify(source.kind)}; expected image, hostPath, url or none`,
    );
  }
}

function checkInteger(name: string, value: number, min: number, max: number, problems: string[]): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name}: received ${JSON.stringify(value)}; expected an integer from ${min} to ${max}`);
  }
}

/** Applies defaults to `partial` and validates the result; throws SettingsError listing every problem. */
export function resolveSettings(partial: Partial<RuntimeSettings> = {}): RuntimeSettings {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const settings: RuntimeSettings = { ...settingsDefaults, ...defined };
  const problems: string[] = [];
  if (!SECRET_PREFIX.test(settings.secretPrefix)) {
    problems.push(
      `secretPrefix: received ${JSON.stringify(settings.secretPrefix)}; expected Secrets Manager name characters`,
    );
  }
  if (!IMAGE_REF.test(settings.installerImage)) {
    problems.push(
      `installerImage: received ${JSON.stringify(settings.installerImage)}; expected an image reference`,
    );
  }
  checkPackageSource(settings.packageSource, problems);
  checkInteger('jobTtlSecondsAfterFinished', settings.jobTtlSecondsAfterFinished, 0, 30 * 86_400, problems);
  checkInteger('taskDeadlineSeconds', settings.taskDeadlineSeconds, 60, 365 * 86_400, problems);
  checkInteger('lockLeaseSeconds', settings.lockLeaseSeconds, 1, 86_400, problems);
  checkInteger('attemptIntervalSeconds', settings.attemptIntervalSeconds, 0, 86_400, problems);
  checkInteger('attemptMaxDelaySeconds', settings.attemptMaxDelaySeconds, 0, 86_400, problems);
  if (settings.defaultCluster !== undefined && !isClusterName(settings.defaultCluster)) {
    problems.push(
      `defaultCluster: received ${JSON.stringify(settings.defaultCluster)}; expected a registered cluster name`,
    );
  }
  if (!['Always', 'IfNotPresent', 'Never'].includes(settings.imagePullPolicy)) {
    problems.push(
      `imagePullPolicy: received ${JSON.stringify(settings.imagePullPolicy)}; expected Always, IfNotPresent or Never`,
    );
  }
  if (typeof settings.requireKnownHosts !== 'boolean') {
    problems.push(
      `requireKnownHosts: received ${JSON.stringify(settings.requireKnownHosts)}; expected true or false`,
    );
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

function integerFromEnv(env: NodeJS.ProcessEnv, key: string, problems: string[]): number | undefined {
  const text = env[key];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text.trim())) {
    problems.push(`${key}: received ${JSON.stringify(text)}; expected a whole number of seconds`);
    return undefined;
  }
  return Number(text);
}

/** The settings of a Lambda, read from its environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const problems: string[] = [];
  const partial: Partial<RuntimeSettings> = {};
  const text = (key: string): string | undefined => (env[key] === '' ? undefined : env[key]);
  partial.secretPrefix = text(SettingsEnv.secretPrefix);
  partial.installerImage = text(SettingsEnv.installerImage);
  partial.defaultCluster = text(SettingsEnv.defaultCluster);
  const pullPolicy = text(SettingsEnv.imagePullPolicy);
  if (pullPolicy !== undefined) partial.imagePullPolicy = pullPolicy as RuntimeSettings['imagePullPolicy'];
  const source = text(SettingsEnv.packageSource);
  if (source !== undefined) {
    try {
      partial.packageSource = JSON.parse(source) as PackageSource;
    } catch {
      problems.push(
        `${SettingsEnv.packageSource}: received ${JSON.stringify(source)}; expected JSON like {"kind":"image","path":"/opt/penetrator/package"}`,
      );
    }
  }
  partial.jobTtlSecondsAfterFinished = integerFromEnv(env, SettingsEnv.jobTtlSecondsAfterFinished, problems);
  partial.taskDeadlineSeconds = integerFromEnv(env, SettingsEnv.taskDeadlineSeconds, problems);
  partial.lockLeaseSeconds = integerFromEnv(env, SettingsEnv.lockLeaseSeconds, problems);
  partial.attemptIntervalSeconds = integerFromEnv(env, SettingsEnv.attemptIntervalSeconds, problems);
  partial.attemptMaxDelaySeconds = integerFromEnv(env, SettingsEnv.attemptMaxDelaySeconds, problems);
  const requireKnownHosts = text(SettingsEnv.requireKnownHosts);
  if (requireKnownHosts !== undefined) {
    if (requireKnownHosts === 'true' || requireKnownHosts === 'false') {
      partial.requireKnownHosts = requireKnownHosts === 'true';
    } else {
      problems.push(
        `${SettingsEnv.requireKnownHosts}: received ${JSON.stringify(requireKnownHosts)}; expected true or false`,
      );
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return resolveSettings(partial);
}

/** The variables that give settingsFromEnv these settings (the local runner sets them on a bundle). */
export function settingsToEnv(partial: Partial<RuntimeSettings>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(partial) as Array<[keyof RuntimeSettings, unknown]>) {
    if (value === undefined) continue;
    env[SettingsEnv[key]] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return env;
}
