/**
 * Which environment variables each kind of Lambda reads, as schemas: the stack must set exactly
 * these, which an infra test checks by parsing every function's template environment with the
 * schema of its handler. Only the product's own namespaces are checked (PENETRATOR_*,
 * POWERTOOLS_*): Lambda adds many variables of its own.
 */
import { z } from 'zod';
import { SECRETS_KEY_ID_ENV, SecretReaderEnv, STATE_MACHINE_ARN_ENV } from './api/environment';
import { EVENT_BUS_ENV } from './domain/product-events';
import { WORK_BUCKET_ENV } from './domain/work-objects';
import { LocalEnv } from './local-composition';
import { SettingsEnv, SettingsError, settingsFromEnv } from './settings';

const text = z.string().min(1);

/** Set by the shared Lambda construct on every function. */
const runtime = {
  POWERTOOLS_SERVICE_NAME: text,
  POWERTOOLS_METRICS_NAMESPACE: text,
  POWERTOOLS_LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']),
  // Powertools reads these when present; the stack does not set them.
  POWERTOOLS_DEV: z.string().optional(),
  POWERTOOLS_METRICS_DISABLED: z.string().optional(),
};

/** The runtime settings (settings.ts): the stack sets the first four, the rest have defaults. */
const settings = {
  [SettingsEnv.secretPrefix]: z.string(),
  [SettingsEnv.installerImage]: text,
  [SettingsEnv.packageSource]: text,
  [SettingsEnv.taskDeadlineSeconds]: text,
  [SettingsEnv.defaultCluster]: text.optional(),
  [SettingsEnv.jobTtlSecondsAfterFinished]: text.optional(),
  [SettingsEnv.imagePullPolicy]: text.optional(),
  [SettingsEnv.requireKnownHosts]: text.optional(),
  [SettingsEnv.attemptIntervalSeconds]: text.optional(),
  [SettingsEnv.attemptMaxDelaySeconds]: text.optional(),
};

/** Set only by the local runner (never by the stack), so optional everywhere. */
const local = {
  [LocalEnv.clusters]: text.optional(),
  [LocalEnv.credentials]: text.optional(),
  [LocalEnv.objects]: text.optional(),
  PENETRATOR_METRICS: z.string().optional(),
};

const common = { ...runtime, ...settings, ...local };

export const FunctionEnvironments = {
  /** Plan, lock, prepare, start-install, check-install, cleanup. */
  workflow: z.strictObject(common),
  /** Plan and Prepare read or write the work list in the work bucket. */
  workList: z.strictObject({ ...common, [WORK_BUCKET_ENV]: text }),
  /** Summarize reads the results from the work bucket and publishes the task's completion on the product bus. */
  summarize: z.strictObject({ ...common, [EVENT_BUS_ENV]: text, [WORK_BUCKET_ENV]: text }),
  /** The tasks routes start, list, describe and stop executions. */
  tasksApi: z.strictObject({ ...common, [STATE_MACHINE_ARN_ENV]: text }),
  /** The credentials and clusters routes write secrets under the product's own KMS key. */
  api: z.strictObject({
    ...common,
    [SECRETS_KEY_ID_ENV]: text,
    // Each writer is given the readers of the one kind it writes (ADR 0017).
    [SecretReaderEnv.credentials]: text.optional(),
    [SecretReaderEnv.clusters]: text.optional(),
  }),
  /** Reinstall and execution-ended start or inspect executions. */
  events: z.strictObject({ ...common, [STATE_MACHINE_ARN_ENV]: text }),
} as const;

export type FunctionKind = keyof typeof FunctionEnvironments;

const OWN = /^(PENETRATOR|POWERTOOLS)_/;

/**
 * Parses the product's variables of `env` with the schema of `kind`, then their values as settings;
 * throws SettingsError naming every missing, unknown (misspelled) or invalid variable.
 */
export function parseFunctionEnvironment(kind: FunctionKind, env: NodeJS.ProcessEnv): void {
  const own = Object.fromEntries(Object.entries(env).filter(([key]) => OWN.test(key)));
  const parsed = FunctionEnvironments[kind].safeParse(own);
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => {
        if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not read by this function`;
        return `${issue.path.join('.')}: ${issue.message}`;
      }),
    );
  }
  settingsFromEnv(env);
}
