/**
 * Equal NodeTask specs give equal digests, whatever the order of their keys.
 */
import { shortHash } from './job-names';

/** Keys sorted at every level, so equal documents give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** Digest of a NodeTask spec: a task whose digest differs is a different task (TaskConflict). */
export function specDigest(spec: unknown): string {
  return `sha256:${shortHash(canonicalJson(spec))}`;
}
