/**
 * Container environment for the test kubelet: `env` (value, fieldRef, secretKeyRef, configMapKeyRef),
 * `envFrom`, and Kubernetes' `$(VAR)` expansion in values, command and args.
 */
import type { CoreV1Api, V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

export class EnvResolutionError extends Error {
  override readonly name = 'EnvResolutionError';
}

/** The downward-API fields a test pod can ask for. */
export function fieldRefValue(pod: V1Pod, fieldPath: string): string {
  const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelOrAnnotation) {
    const map = labelOrAnnotation[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[labelOrAnnotation[2] ?? ''] ?? '';
  }
  const values: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': pod.status?.podIP,
    'status.hostIP': pod.status?.hostIP,
  };
  if (!(fieldPath in values))
    throw new EnvResolutionError(`fieldRef ${fieldPath} is not supported by the test kubelet`);
  return values[fieldPath] ?? '';
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

/** The container's variables in Kubernetes order: envFrom first, then env (later wins). */
export async function resolveEnv(
  core: CoreV1Api,
  pod: V1Pod,
  container: V1Container,
): Promise<Map<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef !== undefined) {
      const ref = source.configMapRef;
      const data = await core.readNamespacedConfigMap({ name: ref.name ?? '', namespace }).then(
        (cm) => cm.data ?? {},
        (err: unknown) => {
          if (ref.optional === true && isNotFound(err)) return {};
          throw err;
        },
      );
      for (const [k, v] of Object.entries(data)) vars.set(prefix + k, v);
    }
    if (source.secretRef !== undefined) {
      const ref = source.secretRef;
      const data = await core.readNamespacedSecret({ name: ref.name ?? '', namespace }).then(
        (s) => s.data ?? {},
        (err: unknown) => {
          if (ref.optional === true && isNotFound(err)) return {};
          throw err;
        },
      );
      for (const [k, v] of Object.entries(data))
        vars.set(prefix + k, Buffer.from(v, 'base64').toString('utf8'));
    }
  }
  for (const v of container.env ?? []) {
    const value = await resolveOne(core, pod, v, vars);
    if (value !== undefined) vars.set(v.name, value);
  }
  return vars;
}
