/**
 * Pod volumes for the test kubelet: configMap, secret, projected (service-account token, configMap,
 * secret, downward API), downwardAPI, emptyDir and hostPath. Each is materialised as a directory on the
 * host (or used in place, for hostPath); the launcher bind-mounts it at the container's mountPath
 * inside a private mount namespace.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type {
  CoreV1Api,
  V1KeyToPath,
  V1Pod,
  V1Volume,
  V1VolumeProjection,
  V1DownwardAPIVolumeFile,
  V1ServiceAccountTokenProjection,
  V1ProjectedVolumeSource,
} from '@kubernetes/client-node';
import { fieldRefValue } from './env';

/** A volume ready to be mounted: `source` is a host path. */
export interface PreparedVolume {
  name: string;
  source: string;
}

export class UnsupportedVolumeError extends Error {
  override readonly name = 'UnsupportedVolumeError';
}

const DEFAULT_MODE = 0o644;

/** A relative path inside a volume, refusing escapes (`..`, absolute paths). */
function safeRelative(path: string): string {
  const clean = normalize(path);
  if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) {
    throw new UnsupportedVolumeError(`volume item path escapes its volume: ${path}`);
  }
  return clean;
}

function writeItem(dir: string, path: string, content: Buffer, mode: number): void {
  const file = join(dir, safeRelative(path));
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, content, { mode });
  // writeFileSync's mode is filtered by the umask; the pod asked for this exact mode.
  chmodSync(file, mode);
}

type KeyedData = Map<string, Buffer>;

/** Writes `data` as files: every key, or only `items` (each with its own path and mode). */
function writeKeyed(
  dir: string,
  data: KeyedData,
  items: V1KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
): void {
  if (items === undefined || items.length === 0) {
    for (const [key, value] of data) writeItem(dir, key, value, defaultMode);
    return;
  }
  for (const item of items) {
    const value = data.get(item.key);
    if (value === undefined) throw new UnsupportedVolumeError(`${what} has no key ${item.key}`);
    writeItem(dir, item.path, value, item.mode ?? defaultMode);
  }
}

async function configMapData(core: CoreV1Api, namespace: string, name: string): Promise<KeyedData> {
  const cm = await core.readNamespacedConfigMap({ name, namespace });
  const data: KeyedData = new Map();
  for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
  return data;
}

async function secretData(core: CoreV1Api, namespace: string, name: string): Promise<KeyedData> {
  const secret = await core.readNamespacedSecret({ name, namespace });
  const data: KeyedData = new Map();
  for (const [k, v] of Object.entries(secret.data ?? {})) data.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(secret.stringData ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  return data;
}

/** 404 on an optional source means "empty volume", as in the real kubelet. */
async function optionalData(
  load: () => Promise<KeyedData>,
  optional: boolean | undefined,
): Promise<KeyedData> {
  try {
    return await load();
  } catch (err: unknown) {
    if (optional === true && (err as { code?: number }).code === 404) return new Map();
    throw err;
  }
}

function writeDownward(dir: string, pod: V1Pod, items: V1DownwardAPIVolumeFile[], defaultMode: number): void {
  for (const item of items) {
    if (item.fieldRef === undefined) {
      throw new UnsupportedVolumeError(`downwardAPI item ${item.path}: only fieldRef is supported`);
    }
    writeItem(
      dir,
      item.path,
      Buffer.from(fieldRefValue(pod, item.fieldRef.fieldPath)),
      item.mode ?? defaultMode,
    );
  }
}

interface KeyedSource {
  name?: string;
  optional?: boolean;
  items?: V1KeyToPath[];
}

const KEYED_LOADERS = { configMap: configMapData, secret: secretData } as const;

/** A configMap or secret source, whole or by its items, as the kubelet writes either. */
async function writeKeyedSource(
  core: CoreV1Api,
  kind: keyof typeof KEYED_LOADERS,
  target: { namespace: string; dir: string; mode: number },
  ref: KeyedSource,
): Promise<void> {
  const name = ref.name ?? '';
  const data = await optionalData(() => KEYED_LOADERS[kind](core, target.namespace, name), ref.optional);
  writeKeyed(target.dir, data, ref.items, target.mode, `${kind} ${name}`);
}

/** A token bound to this pod, as the kubelet requests it: it stops working when the pod is deleted. */
async function writeServiceAccountToken(
  core: CoreV1Api,
  pod: V1Pod,
  dir: string,
  sat: V1ServiceAccountTokenProjection,
  mode: number,
): Promise<void> {
  const meta = pod.metadata ?? {};
  const answer = await core.createNamespacedServiceAccountToken({
    name: pod.spec?.serviceAccountName ?? 'default',
    namespace: meta.namespace ?? 'default',
    body: {
      spec: {
        audiences: sat.audience ? [sat.audience] : [],
        expirationSeconds: sat.expirationSeconds ?? 3607,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: meta.name, uid: meta.uid },
      },
    },
  });
  writeItem(dir, sat.path, Buffer.from(answer.status?.token ?? ''), mode);
}

async function writeProjection(
  core: CoreV1Api,
  pod: V1Pod,
  dir: string,
  source: V1VolumeProjection,
  mode: number,
): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (source.configMap)
    return writeKeyedSource(core, 'configMap', { namespace, dir, mode }, source.configMap);
  if (source.secret) return writeKeyedSource(core, 'secret', { namespace, dir, mode }, source.secret);
  if (source.downwardAPI) return writeDownward(dir, pod, source.downwardAPI.items ?? [], mode);
  if (source.serviceAccountToken)
    return writeServiceAccountToken(core, pod, dir, source.serviceAccountToken, mode);
  throw new UnsupportedVolumeError('projected volume source not supported by the test kubelet');
}

const modeOr = (mode: number | undefined): number => mode ?? DEFAULT_MODE;

async function writeProjected(
  core: CoreV1Api,
  pod: V1Pod,
  dir: string,
  projected: V1ProjectedVolumeSource,
): Promise<void> {
  for (const source of projected.sources ?? []) {
    await writeProjection(core, pod, dir, source, modeOr(projected.defaultMode));
  }
}

async function writeVolume(core: CoreV1Api, pod: V1Pod, dir: string, volume: V1Volume): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const { emptyDir, configMap, secret, projected, downwardAPI } = volume;
  if (emptyDir) return chmodSync(dir, 0o777);
  if (configMap) {
    const mode = modeOr(configMap.defaultMode);
    return writeKeyedSource(core, 'configMap', { namespace, dir, mode }, configMap);
  }
  if (secret) {
    const mode = modeOr(secret.defaultMode);
    return writeKeyedSource(core, 'secret', { namespace, dir, mode }, { ...secret, name: secret.secretName });
  }
  if (projected) return writeProjected(core, pod, dir, projected);
  if (downwardAPI) return writeDownward(dir, pod, downwardAPI.items ?? [], modeOr(downwardAPI.defaultMode));
  throw new UnsupportedVolumeError(`volume ${volume.name}: type not supported by the test kubelet`);
}

/** Materialises one volume under `podDir/volumes/<name>` (hostPath volumes are used in place). */
export async function prepareVolume(
  core: CoreV1Api,
  pod: V1Pod,
  podDir: string,
  volume: V1Volume,
): Promise<PreparedVolume> {
  if (volume.hostPath !== undefined) {
    if (volume.hostPath.type === 'DirectoryOrCreate')
      mkdirSync(volume.hostPath.path, { recursive: true, mode: 0o755 });
    return { name: volume.name, source: volume.hostPath.path };
  }
  const dir = join(podDir, 'volumes', volume.name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  await writeVolume(core, pod, dir, volume);
  return { name: volume.name, source: dir };
}
