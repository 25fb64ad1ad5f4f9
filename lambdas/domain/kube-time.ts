/**
 * The two text forms of time the apiserver accepts.
 */

/** RFC 3339 with microseconds, the only form a MicroTime accepts. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Seconds precision, the form of metav1.Time. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
