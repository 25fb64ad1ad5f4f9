/**
 * The package source of a local run's `--package FILE`: the operator's own file on this machine,
 * whose sha256 the run computes (unless one is given) so that the proxy and the target check it as a
 * deployment's package is checked. A `{arch}` path gets one digest per architecture file present.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  packageSha256Schema,
  type PackageSha256,
  type PackageSource,
} from '../../lambdas/domain/deployment-settings';
import { CliError } from '../output';

const CHUNK_BYTES = 1 << 20;

/** The file's sha256, read in bounded chunks (packages run to hundreds of MB). */
export function fileSha256(path: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read the package ${path}: ${code === 'ENOENT' ? 'no such file' : String(code)}`,
    );
  }
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

function computedSha256(path: string): PackageSha256 {
  if (!path.includes('{arch}')) return fileSha256(path);
  const perArch: { amd64?: string; arm64?: string } = {};
  for (const arch of ['amd64', 'arm64'] as const) {
    try {
      perArch[arch] = fileSha256(path.replaceAll('{arch}', arch));
    } catch {
      // An architecture without its file is refused on a machine of that architecture.
    }
  }
  if (perArch.amd64 === undefined && perArch.arm64 === undefined) {
    throw new CliError(`cannot read the package ${path}: no file for amd64 or arm64`);
  }
  return perArch;
}

/** `--package FILE [--package-sha256 HEX]` as the hostPath source the run hands the Lambdas. */
export function localPackageSource(
  file: string,
  sha256?: string,
): Extract<PackageSource, { kind: 'hostPath' }> {
  const path = resolve(file);
  if (sha256 === undefined) return { kind: 'hostPath', path, sha256: computedSha256(path) };
  const parsed = packageSha256Schema.safeParse(sha256);
  if (!parsed.success)
    throw new CliError(
      `--package-sha256: received ${JSON.stringify(sha256)}; expected 64 lower-case hex digits`,
    );
  return { kind: 'hostPath', path, sha256: parsed.data };
}
