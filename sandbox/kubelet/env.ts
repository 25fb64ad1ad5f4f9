/**
 * Container environment for the test kubelet: `env` (value, fieldRef, secretKeyRef, configMapKeyRef),
 * `envFrom`, and Kubernetes' `$(VAR)` expansion in values, command and args.
 */
import type { CoreV1Api, V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

export class EnvResolutionError extends Error {
  override readonly name = 'EnvResolutionError';
}

type FieldReader = (pod: V1Pod) => string | undefined;

const FIELDS: Record<string, FieldReader> = {
  'metadata.name': (pod) => pod.metadata?.name,
  'metadata.namespace': (pod) => pod.metadata?.namespace,
  'metadata.uid': (pod) => pod.metadata?.uid,
  'spec.nodeName': (pod) => pod.spec?.nodeName,
  'spec.serviceAccountName': (pod) => pod.spec?.serviceAccountName,
  'status.podIP': (pod) => pod.status?.podIP,
  'status.hostIP': (pod) => pod.status?.hostIP,
};

/** The downward-API fields a test pod can ask for. */
export function fieldRefValue(pod: V1Pod, fieldPath: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[labelOrAnnotation[2] ?? ''] ?? '';
  }
  const read = FIELDS[fieldPath];
  if (read === undefined) {
    throw new EnvResolutionError(`fieldRef ${fieldPath} is not supported by the test kubelet`);
  }
  return read(pod) ?? '';
}

/**
 * Expands `$(NAME)` with earlier variables; `$$(NAME)` stays literal `$(NAME)`; unknown names stay as
 * written. These are the rules of the real kubelet.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? (vars.get(name) ?? '') : match;
  });
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

async function readKey(
  read: () => Promise<Record<string, string> | undefined>,
  key: string,
  optional: boolean | undefined,
  what: string,
  decode: (v: string) => string,
): Promise<string | undefined> {
  let data: Record<string, string> | undefined;
  try {
    data = await read();
  } catch (err: unknown) {
    if (optional === true && isNotFound(err)) return undefined;
    throw new EnvResolutionError(`${what}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const raw = data?.[key];
  if (raw === undefined) {
    if (optional === true) return undefined;
    throw new EnvResolutionError(`${what} has no key ${key}`);
  }
  return decode(raw);
}

async function resolveOne(
  core: CoreV1Api,
  pod: V1Pod,
  v: V1EnvVar,
  vars: ReadonlyMap<string, string>,
): Promise<string | undefined> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const from = v.valueFrom;
  if (from === undefined) return expandVars(v.value ?? '', vars);
  if (from.fieldRef !== undefined) return fieldRefValue(pod, from.fieldRef.fieldPath);
  if (from.secretKeyRef !== undefined) {
    const ref = from.secretKeyRef;
    return readKey(
      async () => (await core.readNamespacedSecret({ name: ref.name ?? '', namespace })).data,
      ref.key,
      ref.optional,
      `secret ${ref.name}`,
      (s) => Buffer.from(s, 'base64').toString('utf8'),
    );
  }
  if (from.configMapKeyRef !== undefined) {
    const ref = from.configMapKeyRef;
    return readKey(
      async () => (await core.readNamespacedConfigMap({ name: ref.name ?? '', namespace })).data,
      ref.key,
      ref.optional,
      `configMap ${ref.name}`,
      (s) => s,
    );
  }
  throw new EnvResolutionError(`env ${v.name}: valueFrom source not supported by the test kubelet`);
}

/** Reads a whole ConfigMap or Secret for envFrom; a missing optional one gives nothing. */
async function readAll(
  read: () => Promise<Record<string, string> | undefined>,
  optional: boolean | undefined,
): Promise<Record<string, string>> {
  try {
    return (await read()) ?? {};
  } catch (err: unknown) {
    if (optional === true && isNotFound(err)) return {};
    throw err;
  }
}

async function envFromSource(
  core: CoreV1Api,
  namespace: string,
  source: NonNullable<V1Container['envFrom']>[number],
  vars: Map<string, string>,
): Promise<void> {
  const prefix = source.prefix ?? '';
  const cmRef = source.configMapRef;
  if (cmRef !== undefined) {
    const data = await readAll(
      async () => (await core.readNamespacedConfigMap({ name: cmRef.name ?? '', namespace })).data,
      cmRef.optional,
    );
    for (const [k, v] of Object.entries(data)) vars.set(prefix + k, v);
  }
  const secretRef = source.secretRef;
  if (secretRef !== undefined) {
    const data = await readAll(
      async () => (await core.readNamespacedSecret({ name: secretRef.name ?? '', namespace })).data,
      secretRef.optional,
    );
    for (const [k, v] of Object.entries(data))
      vars.set(prefix + k, Buffer.from(v, 'base64').toString('utf8'));
  }
}

/** The container's variables in Kubernetes order: envFrom first, then env (later wins). */
export async function resolveEnv(
  core: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
): Promise<Map<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  for (const source of container.envFrom ?? []) await envFromSource(core, namespace, source, vars);
  for (const v of container.env ?? []) {
    const value = await resolveOne(core, pod, v, vars);
    if (value !== undefined) vars.set(v.name, value);
  }
  return vars;
}
