/**
 * Runtime settings of the handlers: from the Lambda environment (set by the CDK stack) or passed in
 * by the local runner. Validated at once, with one message listing every problem.
 */

import * as z from 'zod/mini';
import {
  DEPLOYMENT_DEFAULTS,
  packageSourceSchema,
  settingProblems,
  type PackageSource,
} from './domain/deployment-settings';
import { isClusterName } from './domain/name-rules';
import { ErrorNames, problemsMessage } from './errors';

/** Where the install package comes from; in every case targets receive it from the proxy node. */
export type { PackageSource } from './domain/deployment-settings';

const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{0,400}$/;
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,254}$/;

function integer(min: number, max: number): z.ZodMiniNumberFormat {
  const expected = `an integer from ${min} to ${max}`;
  return z.int({ error: expected }).check(z.gte(min, expected), z.lte(max, expected));
}

const D = DEPLOYMENT_DEFAULTS;

export const runtimeSettingsSchema = z.object({
  /** Prefix of the Secrets Manager names: `<prefix>clusters/<name>`, `<prefix>credentials/<name>`. */
  secretPrefix: z._default(
    z
      .string({ error: 'Secrets Manager name characters' })
      .check(z.regex(SECRET_PREFIX, 'Secrets Manager name characters')),
    D.secretPrefix,
  ),
  /** Image of the install Job (a shell, ssh, scp, sshpass). */
  installerImage: z._default(
    z.string({ error: 'an image reference' }).check(z.regex(IMAGE_REF, 'an image reference')),
    D.installerImage,
  ),
  packageSource: z._default(packageSourceSchema, D.packageSource),
  /** Finished install Jobs are deleted this long after they end (their Pods with them). */
  jobTtlSecondsAfterFinished: z._default(integer(0, 30 * 86_400), D.jobTtlSecondsAfterFinished),
  /**
   * How long a task may run at most: the bootstrap token's lifetime. Matches the state machine's
   * timeout by default.
   */
  taskDeadlineSeconds: z._default(integer(60, 365 * 86_400), D.taskDeadlineSeconds),
  /**
   * The cluster lock Lease's duration. Every writing step renews it, so it only runs out when the
   * task's run has died: the cluster is free again at most this long after (ADR 0008). It must
   * outlast the longest pause between two steps (the attempt retry's maxDelay, 10 min by default).
   */
  lockLeaseSeconds: z._default(integer(1, 86_400), D.lockLeaseSeconds),
  /** Cluster used when neither the execution input nor the NodeTask names one. */
  defaultCluster: z.optional(
    z
      .string({ error: 'a registered cluster name' })
      .check(z.refine(isClusterName, 'a registered cluster name')),
  ),
  /** Install Jobs' image pull policy; `Never` fits clusters that preload the image. */
  imagePullPolicy: z._default(
    z.enum(['Always', 'IfNotPresent', 'Never'], { error: 'Always, IfNotPresent or Never' }),
    D.imagePullPolicy,
  ),
  /**
   * No trust on first use: every target's host key must be known before the task starts (from the
   * credential's known hosts or spec.knownHosts), else Plan refuses the task.
   */
  requireKnownHosts: z._default(z.boolean({ error: 'true or false' }), D.requireKnownHosts),
  /**
   * The workflow's retry of a node's install attempt (statemachine/retry-policies.ts), as the stack
   * configures it: the first pause and the longest one. Only read to tell people when the next
   * attempt comes (the node's Retrying Event); Step Functions does the waiting.
   */
  attemptIntervalSeconds: z._default(integer(0, 86_400), D.attemptIntervalSeconds),
  attemptMaxDelaySeconds: z._default(integer(0, 86_400), D.attemptMaxDelaySeconds),
});

export type RuntimeSettings = z.output<typeof runtimeSettingsSchema>;

export const settingsDefaults: RuntimeSettings = runtimeSettingsSchema.parse({});

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
    super(problemsMessage('invalid runtime settings', problems));
  }
}

/** Applies defaults to `partial` and validates the result; throws SettingsError listing every problem. */
export function resolveSettings(partial: Partial<RuntimeSettings> = {}): RuntimeSettings {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const parsed = runtimeSettingsSchema.safeParse(defined, { reportInput: true });
  if (!parsed.success) throw new SettingsError(settingProblems(parsed.error));
  return parsed.data;
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
