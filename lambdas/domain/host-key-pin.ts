/**
 * Host keys pinned per cluster, pure. The key a machine presents the first time the product installs
 * it (trusted on first use, when no known_hosts speaks for it) is recorded on the Node it joins as;
 * every later attempt and reinstall of that machine accepts only that key, in the Job and in direct
 * mode alike. Known hosts given with the credential or the task are accepted beside the pin, which
 * is how an operator lets a machine whose key legitimately changed be installed again.
 *
 * A pin is public (a host's public key) and lives on the Node, where a later task finds it: at the
 * machine's address, under the node's own name or one it replaces.
 */
import { PRODUCT_DOMAIN } from './contracts';
import type { JobObject, NodeObject } from './kube-types';
import { nodeInternalIps } from './node-status';

/** The name a target is recorded under: the address, or `[address]:port` off port 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `<key type> <base64 public key>` of the machine's host key, as first seen. */
export const HOST_KEY_ANNOTATION = `${PRODUCT_DOMAIN}/host-key`;

/** The line install.sh ends a successful first-use install with (its termination message). */
export const HOST_KEY_REPORT_PREFIX = 'host-key: ';

/** An RSA-16384 public key is about 2.8 KB in base64: anything longer is not a host key. */
const MAX_KEY_BASE64 = 4096;
const KEY_TYPE = /^[a-z0-9][a-z0-9@.-]{0,63}$/;
const KEY_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface HostKey {
  type: string;
  base64: string;
}

/**
 * The key in `<type> <base64>`, or undefined when it is not one. The base64 must begin with the
 * type itself (SSH's wire form of a public key), so a value of one type cannot pose as another.
 */
export function parseHostKey(text: string): HostKey | undefined {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) return undefined;
  const [type, base64] = fields as [string, string];
  if (!KEY_TYPE.test(type) || base64.length > MAX_KEY_BASE64 || !KEY_BASE64.test(base64)) return undefined;
  return blobType(Buffer.from(base64, 'base64')) === type ? { type, base64 } : undefined;
}

/** The type named at the start of a public key blob (a uint32 length, then the name). */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** The key of a blob as a machine presented it, in the annotation's form. */
export function hostKeyOfBlob(blob: Buffer): HostKey | undefined {
  const type = blobType(blob);
  return type === undefined ? undefined : parseHostKey(`${type} ${blob.toString('base64')}`);
}

export function hostKeyText(key: HostKey): string {
  return `${key.type} ${key.base64}`;
}

/** The known_hosts line that accepts the pinned key for the target (and only for it). */
export function pinnedKnownHostsLine(key: HostKey, host: string, port: number): string {
  return `${knownHostsName(host, port)} ${hostKeyText(key)}`;
}

/**
 * The pin that speaks for the machine: recorded on a Node standing at its address, under the node's
 * own name or one it replaces, looked at in that order. A Node elsewhere speaks for another machine.
 */
export function pinnedHostKey(nodes: ReadonlyArray<NodeObject | undefined>, ip: string): HostKey | undefined {
  for (const node of nodes) {
    if (node === undefined || !nodeInternalIps(node).includes(ip)) continue;
    const value = node.metadata.annotations?.[HOST_KEY_ANNOTATION];
    const key = value === undefined ? undefined : parseHostKey(value);
    if (key !== undefined) return key;
  }
  return undefined;
}

/** The host key a successful install reported seeing on first use, from its termination message. */
export function reportedHostKey(message: string): HostKey | undefined {
  for (const line of message.split('\n')) {
    if (line.startsWith(HOST_KEY_REPORT_PREFIX))
      return parseHostKey(line.slice(HOST_KEY_REPORT_PREFIX.length));
  }
  return undefined;
}

/** The install Job's variable carrying the pin (`<type> <base64>`): public, checked again by install.sh. */
export const PINNED_HOST_KEY_ENV = 'PENETRATOR_PINNED_HOST_KEY';

/** The Job with the pin handed to its installer; the Job as is without one. */
export function withPinnedHostKey(job: JobObject, key: HostKey | undefined): JobObject {
  const template = job.spec?.template;
  const pod = template?.spec;
  if (key === undefined || pod === undefined) return job;
  const containers = pod.containers.map((c) => ({
    ...c,
    env: [...(c.env ?? []), { name: PINNED_HOST_KEY_ENV, value: hostKeyText(key) }],
  }));
  return { ...job, spec: { ...job.spec, template: { ...template, spec: { ...pod, containers } } } };
}

/** The annotations Check install adds to the Node it labels: the pin, when there is one to keep. */
export function hostKeyAnnotations(key: HostKey | undefined): Record<string, string> {
  return key === undefined ? {} : { [HOST_KEY_ANNOTATION]: hostKeyText(key) };
}
