/**
 * Failures of an install attempt that no retry can change: the machine's architecture, a credential
 * the machine refuses, a host key that does not match, another install holding the machine. Recognised from the one-line reason both
 * install.sh and direct mode write (`<step>: <reason>`, the same wording in both), so the node ends
 * at once instead of spending its attempts and their backoff on a certain failure.
 */

export type FinalFailure =
  'UnsupportedArchitecture' | 'LoginRefused' | 'HostKeyRejected' | 'MachineBusy' | 'PackageChecksumMismatch';

const PATTERNS: ReadonlyArray<[FinalFailure, RegExp]> = [
  ['UnsupportedArchitecture', /\barch: unsupported architecture\b/],
  ['LoginRefused', /\bssh: permission denied for \S+@\S+/],
  ['HostKeyRejected', /\bssh: the host key of \S+ (does not match|is not in) known_hosts\b/],
  // Another install holds the machine's lock: retrying would only race it (installer/remote.sh).
  ['MachineBusy', /\bjoin: another install is running on the machine\b/],
  // The package's bytes are not the ones the deployment names: the same bytes would come again.
  ['PackageChecksumMismatch', /\bpackage: the install package \S+ does not match its sha256\b/],
];

export function finalFailureOf(reason: string): FinalFailure | undefined {
  return PATTERNS.find(([, pattern]) => pattern.test(reason))?.[0];
}
