/**
 * The NodeTask schema: the original's fields, accepted unchanged, plus this product's extensions.
 * Written with zod so one definition validates input here and later renders the API's OpenAPI
 * document (z.toJSONSchema). It holds no transforms and no defaults for that reason: defaults are
 * applied by resolveSpec (spec-defaults.ts), cross-field rules by validateNodeTask (node-task.ts).
 *
 * Original fields: nodeNamePrefix, targetMachines, nodeNamesOverride, sshCredential, proxyNode, sshPort.
 * nodeNamePrefix is required with targetMachines; with nodeNamesOverride it is ignored, as the
 * original ignores it there (it only names machines listed in targetMachines).
 * Extensions (all optional):
 *   cluster               registered cluster to install into (the execution input's `cluster` wins)
 *   proxyNodes            several proxy nodes sharing the work, instead of proxyNode (not both)
 *   mode                  'proxy' (default) or 'direct': the control plane reaches the targets itself;
 *                         direct forbids proxyNode and proxyNodes
 *   sshUser               login user on the targets (default root)
 *   knownHosts            known_hosts lines for the targets; with them host keys are checked strictly
 *   installer             'edgeadm' (default) or 'kubeadm'
 *   maxConcurrency        nodes installed at once (default 10)
 *   maxAttempts           install attempts per node, first included (default 3)
 *   attemptTimeoutSeconds deadline of one attempt (default 900)
 *   pollSeconds           seconds between two checks of a running attempt (default 15)
 *   replaceNodes          existing Nodes the task may replace although they are not its own: a Node
 *                         of another site or of no recorded site at a target's address, or a
 *                         control-plane node (docs/operator-guide.md, "Which Nodes a task replaces")
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { CLUSTER_NAME_RULE, isClusterName, isCredentialName } from './name-rules';
import { isDnsLabel, isDnsSubdomain, isValidNodeName, MAX_PREFIX_LENGTH } from './names';

import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from './node-task-kind';

export { NODE_TASK_API_VERSION, NODE_TASK_KIND };

/**
 * Machines per task. The work list and the results live in the object store, not in the state
 * (ADR 0019), so the bound is the scale the workflow is built and tested for; the document itself
 * must still fit the execution input (256 KiB), which 10,000 addresses do.
 */
export const MAX_MACHINES = 10_000;
/** known_hosts text is carried in the task; a few hundred host keys fit. */
export const MAX_KNOWN_HOSTS_LENGTH = 64 * 1024;

/** Every numeric extension with its bounds and default, shared with spec-defaults.ts and the docs. */
export const NUMERIC_FIELDS = {
  sshPort: { min: 1, max: 65535, default: 22 },
  maxConcurrency: { min: 1, max: 1000, default: 10 },
  maxAttempts: { min: 1, max: 10, default: 3 },
  attemptTimeoutSeconds: { min: 60, max: 7200, default: 900 },
  pollSeconds: { min: 5, max: 300, default: 15 },
} as const;

const POSIX_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** A value as it may appear in a message: JSON, cut short so hostile input cannot flood the output. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The message for a missing field or a value of the wrong type. */
function typeError(expected: string): (issue: { input: unknown }) => string {
  return (issue) =>
    issue.input === undefined
      ? `missing; expected ${expected}`
      : `got ${kindOf(issue.input)}; expected ${expected}`;
}

/** A string field checked by a predicate; the message names the value and what was expected. */
function checkedString(expected: string, valid: (s: string) => boolean) {
  return z
    .string({ error: typeError(expected) })
    .refine(valid, { error: (issue) => `${show(issue.input)} is not ${expected}` })
    .meta({ description: expected });
}

function boundedInteger(field: keyof typeof NUMERIC_FIELDS) {
  const { min, max } = NUMERIC_FIELDS[field];
  const expected = `an integer from ${min} to ${max}`;
  return z
    .number({ error: typeError(expected) })
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (issue) => `${show(issue.input)} is out of range; expected ${expected}`,
    })
    .meta({ description: `${expected} (default ${NUMERIC_FIELDS[field].default})` });
}

/** IPv4 or IPv6 without a zone: a zone id means nothing to the proxy node that dials it. */
export function isIpAddress(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%');
}

const ipAddress = z
  .string({ error: typeError('an IPv4 or IPv6 address') })
  .refine(isIpAddress, { error: (issue) => `${show(issue.input)} is not an IPv4 or IPv6 address` })
  .meta({ description: 'an IPv4 or IPv6 address (no zone)' });

const nodeName = checkedString('a node name (DNS-1123 subdomain)', (s) => isDnsSubdomain(s));

export const nodeTaskSpecSchema = z.strictObject(
  {
    nodeNamePrefix: checkedString(`a DNS-1123 label of at most ${MAX_PREFIX_LENGTH} characters`, (s) =>
      isDnsLabel(s, MAX_PREFIX_LENGTH),
    ).optional(),
    targetMachines: z
      .array(ipAddress, { error: typeError('a list of IPv4 or IPv6 addresses') })
      .min(1, { error: 'is empty; expected at least one IPv4 or IPv6 address' })
      .max(MAX_MACHINES, {
        error: (issue) =>
          `${(issue.input as unknown[]).length} machines exceed the limit of ${MAX_MACHINES} per task ` +
          '(the largest task the workflow runs); split the task',
      })
      .optional(),
    nodeNamesOverride: z
      .record(
        checkedString('a node name (DNS-1123 subdomain of at most 63 characters)', isValidNodeName),
        ipAddress,
        { error: typeError('a map of node name to IPv4 or IPv6 address') },
      )
      .refine((map) => Object.keys(map).length > 0, {
        error: 'is empty; expected at least one node name: IP entry',
      })
      .refine((map) => Object.keys(map).length <= MAX_MACHINES, {
        error: (issue) =>
          `${Object.keys(issue.input as object).length} machines exceed the limit of ${MAX_MACHINES} per task ` +
          '(the largest task the workflow runs); split the task',
      })
      .optional(),
    sshCredential: checkedString(
      'the name of a credential holding passwd or sshkey (DNS-1123 subdomain)',
      isCredentialName,
    ),
    proxyNode: nodeName.optional(),
    sshPort: boundedInteger('sshPort').optional(),
    cluster: checkedString(`a registered cluster name (${CLUSTER_NAME_RULE})`, isClusterName).optional(),
    proxyNodes: z
      .array(nodeName, { error: typeError('a list of node names') })
      .min(1, { error: 'is empty; expected at least one node name' })
      .max(MAX_MACHINES, { error: `lists too many nodes; expected at most ${MAX_MACHINES}` })
      .optional(),
    mode: z
      .enum(['proxy', 'direct'], {
        error: (issue) =>
          issue.input === undefined
            ? 'missing'
            : `${show(issue.input)} is not a mode; expected "proxy" or "direct"`,
      })
      .optional(),
    sshUser: checkedString('a POSIX user name', (s) => POSIX_USER.test(s)).optional(),
    knownHosts: z
      .string({ error: typeError('known_hosts lines as one string') })
      .refine((s) => s.length <= MAX_KNOWN_HOSTS_LENGTH && !s.includes('\0'), {
        error: `is too long or holds a NUL byte; expected known_hosts lines, at most ${MAX_KNOWN_HOSTS_LENGTH} characters`,
      })
      .optional(),
    installer: z
      .enum(['edgeadm', 'kubeadm'], {
        error: (issue) =>
          issue.input === undefined
            ? 'missing'
            : `${show(issue.input)} is not an installer; expected "edgeadm" or "kubeadm"`,
      })
      .optional(),
    maxConcurrency: boundedInteger('maxConcurrency').optional(),
    maxAttempts: boundedInteger('maxAttempts').optional(),
    attemptTimeoutSeconds: boundedInteger('attemptTimeoutSeconds').optional(),
    pollSeconds: boundedInteger('pollSeconds').optional(),
    replaceNodes: z
      .array(nodeName, { error: typeError('a list of node names') })
      .max(MAX_MACHINES, { error: `lists too many nodes; expected at most ${MAX_MACHINES}` })
      .optional(),
  },
  { error: typeError('an object holding the task spec') },
);

/** Labels and annotations per NodeTask: enough to tag a task, bounded so they cannot crowd out the spec. */
export const METADATA_LIMITS = {
  entries: 64,
  keyLength: 317,
  labelValueLength: 63,
  annotationBytes: 16 * 1024,
};

/** A string map of metadata (labels or annotations), capped in entries, key length and value size. */
function metadataMap(what: 'labels' | 'annotations') {
  const { entries, keyLength, labelValueLength, annotationBytes } = METADATA_LIMITS;
  const valueLimit = what === 'labels' ? `at most ${labelValueLength} characters` : 'strings';
  return z
    .record(
      z.string().max(keyLength, { error: `a key is longer than ${keyLength} characters` }),
      what === 'labels'
        ? z.string({ error: typeError(`a string of ${valueLimit}`) }).max(labelValueLength, {
            error: `is longer than ${labelValueLength} characters; expected a label value`,
          })
        : z.string({ error: typeError('a string') }),
      { error: typeError(`a map of string to string (${what})`) },
    )
    .refine((map) => Object.keys(map).length <= entries, {
      error: (issue) => `${Object.keys(issue.input as object).length} entries exceed the limit of ${entries}`,
    })
    .refine(
      (map) =>
        what === 'labels' ||
        Object.entries(map).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0) <=
          annotationBytes,
      { error: `exceed ${annotationBytes} bytes in all; keep large data out of the task` },
    );
}

/**
 * Kubernetes metadata as a NodeTask carries it: the name, which the product uses, and the fields a
 * task read back from a cluster holds (namespace, labels, annotations, uid, resourceVersion,
 * generation, creationTimestamp), capped. Anything else is refused: it would travel in every
 * execution's input for nothing.
 */
export const nodeTaskMetadataSchema = z.strictObject(
  {
    name: checkedString(
      `a DNS-1123 subdomain of at most ${MAX_PREFIX_LENGTH} characters (so the label value <name>-<6> fits 63)`,
      (s) => isDnsSubdomain(s, MAX_PREFIX_LENGTH),
    ),
    namespace: checkedString('a namespace name (DNS-1123 label)', (s) => isDnsLabel(s, 63)).optional(),
    labels: metadataMap('labels').optional(),
    annotations: metadataMap('annotations').optional(),
    uid: checkedString('a uid of at most 64 characters', (s) => s.length <= 64).optional(),
    resourceVersion: checkedString(
      'a resource version of at most 64 characters',
      (s) => s.length <= 64,
    ).optional(),
    generation: z
      .number({ error: typeError('an integer') })
      .int()
      .nonnegative()
      .optional(),
    creationTimestamp: checkedString(
      'an RFC 3339 timestamp',
      (s) => s.length <= 64 && !Number.isNaN(Date.parse(s)),
    ).optional(),
  },
  { error: typeError('an object with a name') },
);

export const nodeTaskSchema = z.strictObject(
  {
    apiVersion: z.literal(NODE_TASK_API_VERSION, {
      error: (issue) =>
        issue.input === undefined
          ? `missing; expected ${NODE_TASK_API_VERSION}`
          : `${show(issue.input)} is not supported; expected ${NODE_TASK_API_VERSION}`,
    }),
    kind: z.literal(NODE_TASK_KIND, {
      error: (issue) =>
        issue.input === undefined
          ? `missing; expected ${NODE_TASK_KIND}`
          : `${show(issue.input)} is not supported; expected ${NODE_TASK_KIND}`,
    }),
    metadata: nodeTaskMetadataSchema,
    spec: nodeTaskSpecSchema,
    /** Written by the product, tolerated on input so a task read back from the cluster validates. */
    status: z.unknown().optional(),
  },
  { error: typeError('a NodeTask object') },
);

export type NodeTaskSpec = z.infer<typeof nodeTaskSpecSchema>;
