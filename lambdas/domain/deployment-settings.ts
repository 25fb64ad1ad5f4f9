/**
 * What a deployment's settings default to and the rules they share, in one place for both readers:
 * the CDK app's context (infra/config.ts), validated at synth, and the Lambdas' runtime settings
 * (lambdas/settings.ts), validated at start. A value synth accepts is one the Lambdas accept.
 */
// zod's mini form: every Lambda validates its settings at start, and the classic form would add
// about 450 KB to each bundle (docs/adr/0021); the NodeTask's validator keeps the classic one.
import * as z from 'zod/mini';

const EXECUTION_TIMEOUT_HOURS = 24;

/** The one defaults table. */
export const DEPLOYMENT_DEFAULTS = {
  secretPrefix: 'penetrator/',
  /** The image local runs use; a deployment builds installer/Dockerfile unless given one. */
  installerImage: 'penetrator-installer:0.1.0',
  /** Where local runs find the package; a deployment has no default (any guess would fail every install). */
  packageSource: { kind: 'image', path: '/opt/penetrator/package' } as PackageSource,
  jobTtlSecondsAfterFinished: 86_400,
  executionTimeoutHours: EXECUTION_TIMEOUT_HOURS,
  /** The bootstrap token lives as long as the state machine lets a task run. */
  taskDeadlineSeconds: EXECUTION_TIMEOUT_HOURS * 3600,
  lockLeaseSeconds: 900,
  imagePullPolicy: 'IfNotPresent' as 'Always' | 'IfNotPresent' | 'Never',
  requireKnownHosts: false,
  attemptMaxRetries: 4,
  attemptIntervalSeconds: 30,
  attemptMaxDelaySeconds: 600,
  logRetentionDays: 30,
  eventBusName: 'penetrator',
  syncIntervalMinutes: 1,
} as const;

const ABSOLUTE_FILE_PATH = /^\/[^\0\n]*[^/]$/;

/** The package runs as root on every target: it is fetched over HTTPS only. */
export function isHttpsUrl(value: string): boolean {
  if (!/^https:\/\/\S+$/.test(value)) return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const packagePath = z.string().check(z.regex(ABSOLUTE_FILE_PATH, 'the absolute path of the package file'));

/** A sha256 digest as `sha256sum` prints it. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;
const sha256Hex = z
  .string()
  .check(z.regex(SHA256_HEX, '64 lower-case hex digits (sha256sum of the package)'));

/**
 * The package's sha256, which the proxy and the target check before anything runs: one value, or
 * one per architecture for a `{arch}` path or URL (an architecture without one is refused there).
 */
export const packageSha256Schema = z.union([
  sha256Hex,
  z.strictObject({ amd64: z.optional(sha256Hex), arm64: z.optional(sha256Hex) }),
]);

export type PackageSha256 = z.infer<typeof packageSha256Schema>;

/**
 * Where the install package comes from, as the Lambdas receive it; in every case targets receive it
 * from the proxy node. `none` serves kubeadm only: its machines carry their own binaries.
 */
export const packageSourceSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('image'), path: packagePath, sha256: z.optional(packageSha256Schema) }),
    z.object({ kind: z.literal('hostPath'), path: packagePath, sha256: z.optional(packageSha256Schema) }),
    z.object({
      kind: z.literal('url'),
      url: z.string().check(z.refine(isHttpsUrl, 'an https URL')),
      sha256: z.optional(packageSha256Schema),
    }),
    z.object({ kind: z.literal('none') }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'image, hostPath, url or none'
        : '{kind: image|hostPath, path} or {kind: url, url}',
  },
);

export type PackageSource = z.infer<typeof packageSourceSchema>;

/**
 * Every problem of a failed parse as `<prefix><path>: received <value>; expected <what>`, each
 * schema's message being the "expected" part.
 */
export function settingProblems(error: z.core.$ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return `${path}: unknown field ${issue.keys.join(', ')}`;
    }
    let received = issue.input;
    // A discriminated union reports its whole input at the discriminator's path.
    if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof received === 'object') {
      received = (received as Record<string, unknown> | null)?.[String(issue.discriminator)];
    }
    return `${path}: received ${JSON.stringify(received)}; expected ${issue.message}`;
  });
}
