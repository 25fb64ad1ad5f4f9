/**
 * known_hosts for direct mode, pure: which lines speak for a target, whether the key it presents is
 * one of them, and which key types to ask it for. Follows OpenSSH's sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT": comma-separated patterns with `*`/`?` wildcards and `!` negation, `[host]:port` for a port
 * other than 22, hashed names (`|1|salt|hash`), `@revoked` lines; `@cert-authority` lines are
 * ignored (no certificates here), as are lines that cannot be read.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { knownHostsName } from '../domain/host-key-pin';

export interface KnownHostKey {
  type: string;
  /** The public key blob (base64-decoded third field). */
  blob: Buffer;
  revoked: boolean;
}

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

/** The name a target is recorded under (one rule with the host-key pin). */
export { knownHostsName };

/**
 * `*` (any run) and `?` (one character), case-insensitive, as OpenSSH's match_pattern. Matched with
 * two cursors that remember only the last `*`: on a mismatch the last `*` swallows one more
 * character, so the work is at most pattern length × name length (the name is one address), never
 * the exponential backtracking a regular expression of several `.*` allows.
 */
export function globMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  let pi = 0;
  let ni = 0;
  let star = -1;
  let resume = 0;
  while (ni < n.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === n[ni]))) {
      pi++;
      ni++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      resume = ni;
    } else if (star >= 0) {
      pi = star + 1;
      ni = ++resume;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

function hashedMatches(entry: string, name: string): boolean {
  const [, magic, salt, hash] = entry.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a host field (comma-separated patterns) names the target; a matching negation wins. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The keys the lines record for the target. */
export function keysFor(knownHosts: string, host: string, port: number): KnownHostKey[] {
  const name = knownHostsName(host, port);
  const keys: KnownHostKey[] = [];
  for (const raw of knownHosts.split(/\r?\n/)) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]?.startsWith('#')) continue;
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    if (marker === '@cert-authority') continue;
    const [hosts, type, base64] = fields;
    if (!hosts || !type || !base64 || !hostFieldMatches(hosts, name)) continue;
    keys.push({ type, blob: Buffer.from(base64, 'base64'), revoked: marker === '@revoked' });
  }
  return keys;
}

/** How the presented key stands against the recorded ones. */
export function verdict(keys: readonly KnownHostKey[], presented: Buffer): HostKeyVerdict {
  if (keys.some((k) => k.revoked && k.blob.equals(presented))) return 'revoked';
  const usable = keys.filter((k) => !k.revoked);
  if (usable.length === 0) return 'unknown';
  return usable.some((k) => k.blob.equals(presented)) ? 'match' : 'mismatch';
}

/** RSA keys are recorded as ssh-rsa but negotiated with SHA-2 signatures first, as OpenSSH does. */
const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * Host key algorithms to offer: those of the recorded keys, so a machine with several keys presents
 * the one we know (OpenSSH orders HostKeyAlgorithms the same way). Undefined: offer the defaults.
 */
export function hostKeyAlgorithms(keys: readonly KnownHostKey[]): string[] | undefined {
  const types = [...new Set(keys.filter((k) => !k.revoked).map((k) => k.type))];
  if (types.length === 0) return undefined;
  return types.flatMap((t) => ALGORITHMS_FOR_TYPE[t] ?? [t]);
}

/** `SHA256:<base64 without padding>`, the fingerprint `ssh-keygen -lf` prints. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The targets for which the known_hosts text records no usable key: with trust on first use
 * refused, each of them would have to be trusted blindly, so the task is refused instead.
 */
export function targetsWithoutKnownKey(
  knownHosts: string,
  targets: readonly string[],
  port: number,
): string[] {
  return targets.filter((ip) => !keysFor(knownHosts, ip, port).some((key) => !key.revoked));
}
