import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localPackageSource } from '../../../cli/local/package-source';

const dir = mkdtempSync(join(tmpdir(), 'penetrator-package-'));
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a local run’s --package', () => {
  it('carries the sha256 of the file it names, one per architecture file for a {arch} path', () => {
    writeFileSync(join(dir, 'p-amd64.tgz'), 'amd64 bytes');
    writeFileSync(join(dir, 'p.tgz'), 'one package');
    expect(localPackageSource(join(dir, 'p.tgz'))).toEqual({
      kind: 'hostPath',
      path: join(dir, 'p.tgz'),
      sha256: sha256('one package'),
    });
    expect(localPackageSource(join(dir, 'p-{arch}.tgz')).sha256).toEqual({ amd64: sha256('amd64 bytes') });
  });

  it('keeps a sha256 given, and refuses a malformed one or a missing file', () => {
    expect(localPackageSource(join(dir, 'absent.tgz'), 'a'.repeat(64)).sha256).toBe('a'.repeat(64));
    expect(() => localPackageSource(join(dir, 'p.tgz'), 'A'.repeat(64))).toThrow(
      /^--package-sha256: received/,
    );
    expect(() => localPackageSource(join(dir, 'absent.tgz'))).toThrow(/absent\.tgz: no such file/);
  });
});
