import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import {
  DEPLOYMENT_DEFAULTS,
  packageSha256Schema,
  packageSourceSchema,
  settingProblems,
  type PackageSha256,
  type PackageSource,
} from '../lambdas/domain/deployment-settings';
import {
  CLUSTER_NAME_RULE,
  CREDENTIAL_NAME_RULE,
  isClusterName,
  isCredentialName,
  isDnsSubdomain,
} from '../lambdas/domain/name-rules';

/**
 * The deployment's settings, read from CDK context (cdk.json or `cdk synth -c key=value`) and
 * validated before any construct is created, so a wrong value fails synth with one message that
 * lists every problem: what, the value received, and what is expected.
 */

export type { PackageSource } from '../lambdas/domain/deployment-settings';

export interface PenetratorConfig {
  /** Prefix of every Secrets Manager name the product reads: `<prefix>clusters/…`, `<prefix>credentials/…`. */
  secretPrefix: string;
  /** Set when apiservers are private: the Lambdas then run in these subnets. */
  vpc?: { vpcId: string; subnetIds: string[] };
  /** Image of the install Job (a shell, ssh, scp, sshpass); unset: the stack builds installer/Dockerfile. */
  installerImage?: string;
  packageSource: PackageSource;
  /** Retries of one node's install attempt after the first: the deployment's ceiling. */
  attemptMaxRetries: number;
  attemptIntervalSeconds: number;
  attemptMaxDelaySeconds: number;
  logRetention: RetentionDays;
  executionTimeoutHours: number;
  /** Cluster used when neither the execution input nor the NodeTask names one. */
  defaultCluster?: string;
  /** Refuse tasks whose targets' host keys are not known up front (no trust on first use). */
  requireKnownHosts: boolean;
  /** Receives the alarm on failed executions; no alarm when unset. */
  alarmEmail?: string;
  /** Name of the product's EventBridge bus (reinstall requests in, completion events out). */
  eventBusName: string;
  /** A periodic "Reinstall Nodes" event for the nodes a label selector picks; none when unset. */
  reinstallSchedule?: ReinstallSchedule;
  /** Minutes between two syncs of the NodeTasks applied in the registered clusters. */
  syncIntervalMinutes: number;
}

export type ReinstallSchedule = z.infer<typeof reinstallScheduleSchema>;

/** The context keys, as written in cdk.json. */
export const ContextKeys = {
  secretPrefix: 'penetrator:secretPrefix',
  vpcId: 'penetrator:vpcId',
  subnetIds: 'penetrator:subnetIds',
  installerImage: 'penetrator:installerImage',
  packageSource: 'penetrator:packageSource',
  packageSha256: 'penetrator:packageSha256',
  attemptMaxRetries: 'penetrator:attemptMaxRetries',
  attemptIntervalSeconds: 'penetrator:attemptIntervalSeconds',
  attemptMaxDelaySeconds: 'penetrator:attemptMaxDelaySeconds',
  logRetentionDays: 'penetrator:logRetentionDays',
  executionTimeoutHours: 'penetrator:executionTimeoutHours',
  defaultCluster: 'penetrator:defaultCluster',
  alarmEmail: 'penetrator:alarmEmail',
  eventBusName: 'penetrator:eventBusName',
  reinstallSchedule: 'penetrator:reinstallSchedule',
  requireKnownHosts: 'penetrator:requireKnownHosts',
  syncIntervalMinutes: 'penetrator:syncIntervalMinutes',
} as const;

type ContextKey = keyof typeof ContextKeys;

const configDefaults = DEPLOYMENT_DEFAULTS;

/** Retention periods CloudWatch Logs accepts ("never expire" is not offered: logs must age out). */
const RETENTION_DAYS: readonly RetentionDays[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,400}\/$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
// registry/repository[:tag][@sha256:digest], lower-case repository as the OCI spec requires.
const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Context = (key: string) => unknown;
/** A pattern, or a rule from the domain shaped like one. */
type Rule = { test(value: string): boolean };

class Problems {
  readonly list: string[] = [];
  add(key: ContextKey, received: unknown, expected: string): undefined {
    this.list.push(`${ContextKeys[key]}: received ${JSON.stringify(received)}; expected ${expected}`);
    return undefined;
  }
}

function text(
  ctx: Context,
  key: ContextKey,
  problems: Problems,
  rule: Rule,
  expected: string,
): string | undefined {
  const value = ctx(ContextKeys[key]);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !rule.test(value)) return problems.add(key, value, expected);
  return value;
}

/** A boolean setting, as JSON (cdk.json) or as text (`-c key=true`); absent is false. */
function flag(ctx: Context, key: ContextKey, problems: Problems): boolean {
  const value = ctx(ContextKeys[key]);
  if (value === undefined || value === '' || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  problems.add(key, value, 'true or false');
  return false;
}

function integer(
  ctx: Context,
  key: ContextKey,
  problems: Problems,
  min: number,
  max: number,
): number | undefined {
  const value = ctx(ContextKeys[key]);
  if (value === undefined || value === '') return undefined;
  // `-c key=4` arrives as a string, cdk.json as a number: accept both.
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    return problems.add(key, value, `an integer from ${min} to ${max}`);
  }
  return n;
}

function subnetList(ctx: Context, problems: Problems): string[] | undefined {
  const value = ctx(ContextKeys.subnetIds);
  if (value === undefined || value === '') return undefined;
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((s) => typeof s === 'string' && SUBNET_ID.test(s))
  ) {
    return problems.add(
      'subnetIds',
      value,
      'a non-empty list (or comma-separated string) of subnet ids like subnet-0123abcd',
    );
  }
  return list as string[];
}

const PACKAGE_SOURCE_EXPECTED =
  '"image:/absolute/path" (in the installer image), "hostPath:/absolute/path" (on the proxy node) or "url:https://…" (fetched once by the proxy), or "none" when every task uses the kubeadm profile';

function packageSource(ctx: Context, problems: Problems): PackageSource | undefined {
  const value = ctx(ContextKeys.packageSource);
  // No default: any guess would fail every edgeadm install, so synth refuses and says how to give one.
  if (value === undefined || value === '')
    return problems.add(
      'packageSource',
      value,
      `${PACKAGE_SOURCE_EXPECTED}; give it with -c ${ContextKeys.packageSource}=… or in cdk.json (installer/README.md says how to build the package)`,
    );
  if (typeof value !== 'string') return problems.add('packageSource', value, PACKAGE_SOURCE_EXPECTED);
  const colon = value.indexOf(':');
  const kind = value.slice(0, colon);
  const location = value.slice(colon + 1);
  // The form the Lambdas receive, judged by their own schema: what synth accepts, they accept.
  const source =
    value === 'none' ? { kind: 'none' } : kind === 'url' ? { kind, url: location } : { kind, path: location };
  const parsed = packageSourceSchema.safeParse(source);
  if (!parsed.success) return problems.add('packageSource', value, PACKAGE_SOURCE_EXPECTED);
  const sha256 = packageSha256(ctx, parsed.data.kind === 'none', problems);
  return sha256 === undefined || parsed.data.kind === 'none' ? parsed.data : { ...parsed.data, sha256 };
}

const PACKAGE_SHA256_EXPECTED =
  'the package\'s sha256 as 64 lower-case hex digits, or "amd64=<hex>,arm64=<hex>" for a {arch} package (installer/README.md says how to compute it)';

/** What runs as root on every target is checked against this digest first; `none` has no package. */
function packageSha256(ctx: Context, none: boolean, problems: Problems): PackageSha256 | undefined {
  const value = ctx(ContextKeys.packageSha256);
  if (none) {
    if (value === undefined || value === '') return undefined;
    return problems.add('packageSha256', value, 'nothing: the package source none has no package to check');
  }
  if (value === undefined || value === '')
    return problems.add('packageSha256', value, PACKAGE_SHA256_EXPECTED);
  let candidate: unknown = value;
  if (typeof value === 'string' && value.includes('=')) {
    const entries = value.split(',').map((pair) => pair.split('='));
    candidate = entries.every((pair) => pair.length === 2) ? Object.fromEntries(entries) : value;
  }
  const parsed = packageSha256Schema.safeParse(candidate);
  return parsed.success ? parsed.data : problems.add('packageSha256', value, PACKAGE_SHA256_EXPECTED);
}

function vpcSettings(ctx: Context, p: Problems): PenetratorConfig['vpc'] {
  const vpcId = text(ctx, 'vpcId', p, VPC_ID, 'a VPC id like vpc-0123abcd');
  const subnetIds = subnetList(ctx, p);
  const isSet = (key: ContextKey): boolean => ![undefined, ''].includes(ctx(ContextKeys[key]) as string);
  if (isSet('vpcId') !== isSet('subnetIds')) {
    const missing: ContextKey = isSet('vpcId') ? 'subnetIds' : 'vpcId';
    p.add(missing, undefined, `${ContextKeys.vpcId} and ${ContextKeys.subnetIds} set together (or neither)`);
  }
  return vpcId && subnetIds ? { vpcId, subnetIds } : undefined;
}

function retrySettings(
  ctx: Context,
  p: Problems,
): Pick<PenetratorConfig, 'attemptMaxRetries' | 'attemptIntervalSeconds' | 'attemptMaxDelaySeconds'> {
  const attemptMaxRetries = integer(ctx, 'attemptMaxRetries', p, 0, 20) ?? configDefaults.attemptMaxRetries;
  const interval =
    integer(ctx, 'attemptIntervalSeconds', p, 1, 3600) ?? configDefaults.attemptIntervalSeconds;
  const maxDelay =
    integer(ctx, 'attemptMaxDelaySeconds', p, 1, 86_400) ?? configDefaults.attemptMaxDelaySeconds;
  if (maxDelay < interval) {
    p.add('attemptMaxDelaySeconds', maxDelay, `at least ${ContextKeys.attemptIntervalSeconds} (${interval})`);
  }
  return { attemptMaxRetries, attemptIntervalSeconds: interval, attemptMaxDelaySeconds: maxDelay };
}

function retention(ctx: Context, p: Problems): RetentionDays {
  const days = integer(ctx, 'logRetentionDays', p, 1, 3653);
  if (days !== undefined && !RETENTION_DAYS.includes(days)) {
    p.add('logRetentionDays', days, `one of ${RETENTION_DAYS.join(', ')}`);
  }
  return days ?? configDefaults.logRetentionDays;
}

// "default" is the account's own bus, which a stack cannot create.
const EVENT_BUS_NAME = /^(?!default$)[A-Za-z0-9._-]{1,256}$/;
/** Six cron fields as EventBridge Scheduler takes them; its own parser judges the values at deploy. */
const CRON_FIELDS = /^[^\s()]+( [^\s()]+){5}$/;
const SCHEDULE_EXPECTED =
  'an object (or its JSON) {cron: "0 3 ? * SUN *", cluster, labelSelector, sshCredential, proxyNode?}';

function scheduleObject(value: unknown): Record<string, unknown> | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

const scheduleText = (expected: string): z.ZodString => z.string({ error: expected });
const CLUSTER_EXPECTED = `a registered cluster name (${CLUSTER_NAME_RULE})`;
const CREDENTIAL_EXPECTED = `the name of an SSH credential (${CREDENTIAL_NAME_RULE})`;
const CRON_EXPECTED = 'six cron fields like "0 3 ? * SUN *" (without cron(…))';
const SELECTOR_EXPECTED = 'a label selector like "role=edge"';

const reinstallScheduleSchema = z.object({
  /** EventBridge Scheduler cron fields (minutes hours day-of-month month day-of-week year), UTC. */
  cron: scheduleText(CRON_EXPECTED).regex(CRON_FIELDS, CRON_EXPECTED),
  cluster: scheduleText(CLUSTER_EXPECTED).refine(isClusterName, CLUSTER_EXPECTED),
  labelSelector: scheduleText(SELECTOR_EXPECTED).regex(/^[^\n]{1,1024}$/, SELECTOR_EXPECTED),
  sshCredential: scheduleText(CREDENTIAL_EXPECTED).refine(isCredentialName, CREDENTIAL_EXPECTED),
  proxyNode: scheduleText('a node name')
    .refine((s) => isDnsSubdomain(s), 'a node name')
    .optional(),
});

function reinstallSchedule(ctx: Context, p: Problems): ReinstallSchedule | undefined {
  const value = ctx(ContextKeys.reinstallSchedule);
  if (value === undefined || value === '') return undefined;
  const object = scheduleObject(value);
  if (object === undefined) return p.add('reinstallSchedule', value, SCHEDULE_EXPECTED);
  const known = Object.keys(reinstallScheduleSchema.shape);
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  for (const key of unknown) {
    p.list.push(`${ContextKeys.reinstallSchedule}.${key}: unknown field; expected only ${known.join(', ')}`);
  }
  const parsed = reinstallScheduleSchema.safeParse(object, { reportInput: true });
  if (!parsed.success) p.list.push(...settingProblems(parsed.error, ContextKeys.reinstallSchedule));
  return parsed.success && unknown.length === 0 ? parsed.data : undefined;
}

/** Reads and validates the configuration; throws one Error listing every problem. */
export function loadConfig(ctx: Context): PenetratorConfig {
  const p = new Problems();
  const vpc = vpcSettings(ctx, p);
  const defaultCluster = text(
    ctx,
    'defaultCluster',
    p,
    { test: isClusterName },
    `a cluster name (${CLUSTER_NAME_RULE})`,
  );
  const alarmEmail = text(ctx, 'alarmEmail', p, EMAIL, 'an e-mail address');
  const requireKnownHosts = flag(ctx, 'requireKnownHosts', p);
  const schedule = reinstallSchedule(ctx, p);
  const config: PenetratorConfig = {
    secretPrefix:
      text(
        ctx,
        'secretPrefix',
        p,
        SECRET_PREFIX,
        'Secrets Manager name characters ending with "/", e.g. "penetrator/"',
      ) ?? configDefaults.secretPrefix,
    installerImage: text(
      ctx,
      'installerImage',
      p,
      IMAGE_REF,
      'an image reference like registry.example.com/penetrator/installer:1.0',
    ),
    // Undefined only when a problem was recorded: loadConfig throws before the value is used.
    packageSource: packageSource(ctx, p) as PackageSource,
    ...retrySettings(ctx, p),
    logRetention: retention(ctx, p),
    executionTimeoutHours:
      integer(ctx, 'executionTimeoutHours', p, 1, 24 * 365) ?? configDefaults.executionTimeoutHours,
    ...(vpc ? { vpc } : {}),
    ...(defaultCluster ? { defaultCluster } : {}),
    requireKnownHosts,
    ...(alarmEmail ? { alarmEmail } : {}),
    eventBusName:
      text(
        ctx,
        'eventBusName',
        p,
        EVENT_BUS_NAME,
        'an event bus name ([A-Za-z0-9._-], at most 256, not "default")',
      ) ?? configDefaults.eventBusName,
    ...(schedule ? { reinstallSchedule: schedule } : {}),
    syncIntervalMinutes:
      integer(ctx, 'syncIntervalMinutes', p, 1, 24 * 60) ?? configDefaults.syncIntervalMinutes,
  };
  if (p.list.length > 0) {
    throw new Error(
      `invalid Penetrator configuration (CDK context):\n${p.list.map((s) => `  ${s}`).join('\n')}`,
    );
  }
  return config;
}
