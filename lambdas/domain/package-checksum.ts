/**
 * The install package's sha256: which one a machine's package must have, how it reaches install.sh's
 * params file, and the reason both install.sh and direct mode give when the bytes differ (the one
 * domain/final-failures.ts recognises). The package runs as root on every target, so it is checked
 * where it is fetched or found and again on the target, before anything runs there.
 */
import type { PackageSha256, PackageSource } from './deployment-settings';

export type PackageArch = 'amd64' | 'arm64';

/** The digest this architecture's package must have; '' when the source gives none for it. */
export function expectedSha256(source: PackageSource, arch: PackageArch): string {
  if (source.kind === 'none' || source.sha256 === undefined) return '';
  return typeof source.sha256 === 'string' ? source.sha256 : (source.sha256[arch] ?? '');
}

/** The params file's lines for the digest: one value, or one per architecture. */
export function sha256Params(sha256: PackageSha256 | undefined): Array<[string, string]> {
  if (sha256 === undefined) return [];
  if (typeof sha256 === 'string') return [['PACKAGE_SHA256', sha256]];
  const lines: Array<[string, string]> = [];
  if (sha256.amd64 !== undefined) lines.push(['PACKAGE_SHA256_AMD64', sha256.amd64]);
  if (sha256.arm64 !== undefined) lines.push(['PACKAGE_SHA256_ARM64', sha256.arm64]);
  return lines;
}

/** The reason after `package: `, as install.sh's check_package words it. */
export function packageMismatchReason(path: string, expected: string, found: string): string {
  return `the install package ${path} does not match its sha256 (expected ${expected}, found ${found || 'nothing'})`;
}
