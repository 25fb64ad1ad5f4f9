/**
 * The API's request bodies and responses as zod schemas. The handlers type their output with them
 * and validate the secret-bearing request bodies; scripts/openapi.ts renders them (with the NodeTask
 * schema itself) into docs/api/openapi.json, and the CDK construct turns the request bodies into
 * API Gateway models. One definition, so the document cannot drift from the code.
 */
import { z } from 'zod';
import { cidrProblem } from '../domain/credential-bounds';
import { isClusterName } from '../domain/name-rules';
import { NODE_TASK_API_VERSION, NODE_TASK_KIND } from '../domain/node-task-schema';
import { ExecutionStatuses } from '../ports';

/** Secrets Manager stores at most 64 KiB per value; these bounds keep a credential well inside. */
export const MAX_PASSWORD_LENGTH = 1024;
export const MAX_SSH_KEY_LENGTH = 16 * 1024;
export const MAX_KNOWN_HOSTS_LENGTH = 32 * 1024;
export const MAX_KUBECONFIG_LENGTH = 60 * 1024;

/** Credential and cluster names: what spec.sshCredential and spec.cluster accept. */
export { isClusterName, isCredentialName } from '../domain/name-rules';

// ---------------------------------------------------------------------------------------------------
// Request bodies. Messages name fields only: the values are secrets.

const secretText = (field: string, max: number) =>
  z
    .string({ error: `${field}: expected a string` })
    .min(1, { error: `${field}: is empty` })
    .max(max, { error: `${field}: is longer than ${max} characters` });

/** Host keys travel with either kind of credential: a password must not go to an unverified host. */
const knownHostsField = secretText('knownHosts', MAX_KNOWN_HOSTS_LENGTH)
  .meta({ description: 'known_hosts lines; with them host keys are checked strictly.' })
  .optional();

/** Bounds are not secret, but stay in tags of at most 256 characters (domain/credential-bounds.ts). */
const clustersField = z
  .array(z.string().refine(isClusterName, { error: 'clusters: expected cluster names' }), {
    error: 'clusters: expected a list of cluster names',
  })
  .max(16, { error: 'clusters: at most 16' })
  .meta({ description: 'The registered clusters this credential may be used for; without them, none.' })
  .optional();

const rangesField = (field: string, description: string) =>
  z
    .array(
      z.string().refine((s) => cidrProblem(s) === undefined, { error: `${field}: expected CIDR ranges` }),
      {
        error: `${field}: expected a list of CIDR ranges`,
      },
    )
    .max(16, { error: `${field}: at most 16` })
    .meta({ description })
    .optional();

const credentialRanges = rangesField(
  'ranges',
  'Address ranges (CIDR) of the machines this credential may log in to; without them, any address.',
);

export const passwordCredentialSchema = z
  .strictObject({
    passwd: secretText('passwd', MAX_PASSWORD_LENGTH),
    knownHosts: knownHostsField,
    clusters: clustersField,
    ranges: credentialRanges,
  })
  .meta({
    title: 'PasswordCredential',
    description: 'Root (or sshUser) login by password, optionally with known host keys.',
  });

export const keyCredentialSchema = z
  .strictObject({
    sshkey: secretText('sshkey', MAX_SSH_KEY_LENGTH).meta({ description: 'A private key (PEM / OpenSSH).' }),
    knownHosts: knownHostsField,
    clusters: clustersField,
    ranges: credentialRanges,
  })
  .meta({ title: 'KeyCredential', description: 'Login by private key, optionally with known host keys.' });

export const credentialBodySchema = z.union([passwordCredentialSchema, keyCredentialSchema]).meta({
  title: 'PutCredentialRequest',
  description:
    'An SSH credential: {passwd, knownHosts?} or {sshkey, knownHosts?}, with the clusters (and address ranges) it may be used for.',
});
export type CredentialBody = z.infer<typeof credentialBodySchema>;

export const clusterBodySchema = z
  .strictObject({
    kubeconfig: secretText('kubeconfig', MAX_KUBECONFIG_LENGTH).meta({
      description:
        'A kubeconfig (YAML or JSON) whose current context names a cluster with a server; a token or client certificate, no exec plugin.',
    }),
    directRanges: rangesField(
      'directRanges',
      'Address ranges (CIDR) direct mode may reach in this cluster; without them, no direct-mode task.',
    ),
  })
  .meta({ title: 'PutClusterRequest' });
export type ClusterBody = z.infer<typeof clusterBodySchema>;

// ---------------------------------------------------------------------------------------------------
// Responses

export const errorSchema = z
  .object({
    message: z.string(),
    hint: z.string().optional(),
  })
  .meta({ title: 'Error', description: 'Every error: one message, maybe a hint. Never a stack trace.' });
export type ErrorBody = z.infer<typeof errorSchema>;

export const invalidNodeTaskSchema = z
  .object({
    message: z.literal('invalid NodeTask'),
    problems: z.array(z.string()).meta({
      description: 'One `<field path>: <what is wrong>` line per problem, as `penetrator validate` prints.',
    }),
  })
  .meta({ title: 'InvalidNodeTask' });

export const clusterBusySchema = z
  .object({ message: z.string(), runningTask: z.string() })
  .meta({ title: 'ClusterBusy', description: 'Another task holds the cluster.' });

export const submitResponseSchema = z
  .object({
    name: z.string(),
    cluster: z.string(),
    executionArn: z.string(),
    statusUrl: z.string().meta({ description: '/tasks/<name>?cluster=<cluster>' }),
  })
  .meta({ title: 'SubmitResponse' });
export type SubmitResponse = z.infer<typeof submitResponseSchema>;

/** UNKNOWN: the task object names an execution Step Functions does not know (a local run). */
const executionStatusSchema = z.enum([...ExecutionStatuses, 'UNKNOWN']);
const nodetaskStatusSchema = z.enum(['creating', 'ready']);

export const taskListItemSchema = z
  .object({
    name: z.string(),
    cluster: z.string(),
    nodetaskStatus: nodetaskStatusSchema,
    total: z.number().int(),
    installed: z.number().int(),
    failed: z.number().int(),
    executionArn: z.string(),
    executionStatus: executionStatusSchema,
    startDate: z.string(),
  })
  .meta({ title: 'TaskListItem' });
export type TaskListItem = z.infer<typeof taskListItemSchema>;

export const taskListSchema = z.object({ items: z.array(taskListItemSchema) }).meta({ title: 'TaskList' });
export type TaskList = z.infer<typeof taskListSchema>;

export const nodeStateSchema = z.enum(['pending', 'installing', 'installed', 'failed']);
export type NodeState = z.infer<typeof nodeStateSchema>;

export const nodeDetailSchema = z
  .object({
    name: z.string(),
    ip: z.string(),
    state: nodeStateSchema,
    attempts: z.number().int().meta({ description: 'Install Jobs of this run for the node.' }),
    reason: z.string().optional().meta({ description: 'Why the last attempt failed.' }),
  })
  .meta({ title: 'NodeDetail' });
export type NodeDetail = z.infer<typeof nodeDetailSchema>;

export const executionSchema = z
  .object({
    arn: z.string(),
    status: executionStatusSchema,
    startDate: z.string(),
    stopDate: z.string().optional(),
  })
  .meta({ title: 'Execution' });

export const taskDetailSchema = z
  .object({
    apiVersion: z.literal(NODE_TASK_API_VERSION),
    kind: z.literal(NODE_TASK_KIND),
    metadata: z.object({ name: z.string() }),
    spec: z.record(z.string(), z.unknown()).meta({ description: 'The spec as submitted.' }),
    status: z.object({
      nodetaskStatus: nodetaskStatusSchema,
      nodeStatus: z
        .record(z.string(), z.string())
        .meta({ description: 'name → IP of every node not installed (the original NodeTask status).' }),
      progress: z.object({
        total: z.number().int(),
        installed: z.number().int(),
        failed: z.number().int(),
        pending: z.number().int(),
      }),
      nodes: z.array(nodeDetailSchema),
    }),
    execution: executionSchema,
  })
  .meta({ title: 'TaskDetail', description: "The original NodeTask's shape plus per-node detail." });
export type TaskDetail = z.infer<typeof taskDetailSchema>;

export const cancelResponseSchema = z
  .object({ name: z.string(), cancelled: z.literal(true) })
  .meta({ title: 'CancelResponse' });
export type CancelResponse = z.infer<typeof cancelResponseSchema>;

export const taskEventSchema = z
  .object({
    type: z.string(),
    reason: z.string(),
    message: z.string(),
    count: z.number().int(),
    firstTimestamp: z.string(),
    lastTimestamp: z.string(),
  })
  .meta({ title: 'TaskEvent' });
export type TaskEvent = z.infer<typeof taskEventSchema>;

export const eventListSchema = z.object({ items: z.array(taskEventSchema) }).meta({ title: 'EventList' });
export type EventList = z.infer<typeof eventListSchema>;

export const clusterListSchema = z
  .object({ items: z.array(z.object({ name: z.string() })) })
  .meta({ title: 'ClusterList' });
export type ClusterList = z.infer<typeof clusterListSchema>;
