/**
 * Where a credential may be used, and where direct mode may reach, pure. A stored credential names
 * the clusters it serves and, optionally, the address ranges (CIDR) of the machines it may log in
 * to; a registered cluster names the ranges direct mode may connect to from the cloud. The bounds
 * are kept apart from the secret values (as tags of the secrets), so a task outside them is refused
 * before any credential is read.
 *
 * A credential stored without bounds serves no cluster: it must be bound before a task may use it
 * (docs/operator-guide.md, "Bound credentials"). A cluster registered without ranges takes no
 * direct-mode task. A local run's credential file and kubeconfig are chosen by the operator for
 * that run, and are unbounded unless the file names bounds.
 */
import { BlockList, isIP } from 'node:net';

/** Tag keys on the secrets; values are space-separated (tag values may not hold commas). */
export const BoundTags = {
  clusters: 'penetrator:clusters',
  ranges: 'penetrator:ranges',
  directRanges: 'penetrator:direct-ranges',
} as const;

/** Secrets Manager's limit on a tag value. */
export const MAX_TAG_VALUE = 256;

export interface CredentialBounds {
  /** Registered cluster names the credential may be used for. */
  clusters: string[];
  /** CIDR ranges of the machines it may log in to; empty: any address. */
  ranges: string[];
}

/** What a store knows of a credential's bounds: the bounds, none recorded, or a local unbounded file. */
export type RecordedBounds = CredentialBounds | 'none' | 'unbounded';

/** What a directory knows of a cluster's direct-mode ranges. */
export type DirectRanges = string[] | 'none' | 'unbounded';

/** The problem with one CIDR, or undefined when it is one (`10.0.0.0/8`, `fd00::/64`, `192.0.2.7/32`). */
export function cidrProblem(text: string): string | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const prefix = slash < 0 ? '' : text.slice(slash + 1);
  const family = isIP(address);
  if (family === 0)
    return `${JSON.stringify(text.slice(0, 60))} is not an address range (CIDR, e.g. 10.0.0.0/8)`;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)
    return `${JSON.stringify(text.slice(0, 60))} needs a prefix length of 0 to ${max} (e.g. ${address}/${max})`;
  return undefined;
}

/** Whether the address lies in one of the ranges (each a valid CIDR). */
export function inRanges(ip: string, ranges: readonly string[]): boolean {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, prefix] = range.split('/') as [string, string];
    list.addSubnet(address, Number(prefix), isIP(address) === 4 ? 'ipv4' : 'ipv6');
  }
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** The words of a tag value (clusters or ranges); absent: none. */
export function tagWords(value: string | undefined): string[] {
  return (value ?? '').split(' ').filter((w) => w !== '');
}

/** Bounds read from a secret's tags: 'none' unless it names at least one cluster. */
export function boundsFromTags(tags: ReadonlyArray<{ Key?: string; Value?: string }>): RecordedBounds {
  const value = (key: string) => tags.find((t) => t.Key === key)?.Value;
  const clusters = tagWords(value(BoundTags.clusters));
  if (clusters.length === 0) return 'none';
  return { clusters, ranges: tagWords(value(BoundTags.ranges)).filter((r) => cidrProblem(r) === undefined) };
}

/** Direct-mode ranges read from a cluster secret's tags. */
export function directRangesFromTags(tags: ReadonlyArray<{ Key?: string; Value?: string }>): DirectRanges {
  const ranges = tagWords(tags.find((t) => t.Key === BoundTags.directRanges)?.Value).filter(
    (r) => cidrProblem(r) === undefined,
  );
  return ranges.length === 0 ? 'none' : ranges;
}

/** The problems with bounds to be stored, each naming its field; none when they can be stored. */
export function boundsInputProblems(fields: Record<string, readonly string[] | undefined>): string[] {
  const problems: string[] = [];
  for (const [field, words] of Object.entries(fields)) {
    if (words === undefined) continue;
    words.forEach((word, i) => {
      if (field !== 'clusters') {
        const problem = cidrProblem(word);
        if (problem) problems.push(`${field}[${i}]: ${problem}`);
      }
    });
    if (words.join(' ').length > MAX_TAG_VALUE)
      problems.push(`${field}: at most ${MAX_TAG_VALUE} characters in all, separators included`);
  }
  return problems;
}

export interface BoundsCheck {
  credential: string;
  bounds: RecordedBounds;
  cluster: string;
  mode: 'proxy' | 'direct';
  /** Each target with the field path that names it. */
  targets: ReadonlyArray<{ ip: string; path: string }>;
  directRanges: DirectRanges;
}

function credentialProblems(check: BoundsCheck): string[] {
  const { credential, bounds, cluster } = check;
  if (bounds === 'unbounded') return [];
  if (bounds === 'none') {
    return [
      `spec.sshCredential: credential ${credential} names no cluster it may be used for; ` +
        `store it again with its clusters (penetrator credential put ${credential} --clusters ${cluster} …)`,
    ];
  }
  if (!bounds.clusters.includes(cluster)) {
    return [
      `spec.sshCredential: credential ${credential} may not be used for cluster ${cluster} (it serves ${bounds.clusters.join(', ')})`,
    ];
  }
  if (bounds.ranges.length === 0) return [];
  return check.targets
    .filter((t) => !inRanges(t.ip, bounds.ranges))
    .map(
      (t) =>
        `${t.path}: ${t.ip} is outside the ranges credential ${credential} may reach (${bounds.ranges.join(', ')})`,
    );
}

function directProblems(check: BoundsCheck): string[] {
  const { directRanges, cluster } = check;
  if (check.mode !== 'direct' || directRanges === 'unbounded') return [];
  if (directRanges === 'none') {
    return [
      `spec.mode: cluster ${cluster} names no address ranges direct mode may reach; ` +
        `register them (penetrator cluster add ${cluster} --direct-ranges CIDR,… --replace) or use a proxy node`,
    ];
  }
  return check.targets
    .filter((t) => !inRanges(t.ip, directRanges))
    .map(
      (t) =>
        `${t.path}: ${t.ip} is outside the ranges direct mode may reach in cluster ${cluster} (${directRanges.join(', ')})`,
    );
}

/** Every way the task leaves its credential's or cluster's bounds, with field paths (at most 20). */
export function boundsProblems(check: BoundsCheck): string[] {
  return [...credentialProblems(check), ...directProblems(check)].slice(0, 20);
}

/**
 * Bounds written as fields of a document (a local credential file: `clusters: [local]`,
 * `ranges: [10.0.0.0/8]`): none when it names no clusters; every problem names its field.
 */
export function boundsFromFields(fields: Record<string, unknown>): {
  bounds?: CredentialBounds;
  problems: string[];
} {
  const problems: string[] = [];
  const list = (field: 'clusters' | 'ranges'): string[] | undefined => {
    const value = fields[field];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((w): w is string => typeof w === 'string')) {
      problems.push(`${field}: expected a list of strings`);
      return undefined;
    }
    return value;
  };
  const clusters = list('clusters');
  const ranges = list('ranges');
  problems.push(...boundsInputProblems({ ranges }));
  if (clusters === undefined || clusters.length === 0) {
    if (ranges !== undefined) problems.push('ranges: given without clusters; name the clusters too');
    return { problems };
  }
  return problems.length > 0 ? { problems } : { bounds: { clusters, ranges: ranges ?? [] }, problems };
}
