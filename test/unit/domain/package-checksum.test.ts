import { describe, expect, it } from 'vitest';
import { packageSourceSchema } from '../../../lambdas/domain/deployment-settings';
import { expectedSha256 } from '../../../lambdas/domain/package-checksum';
import { paramsFile } from '../../../lambdas/domain/script-config-map';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const JOIN = { server: '198.18.0.1:6443', caHash: `sha256:${'c'.repeat(64)}` };

describe('the package sha256', () => {
  it('reaches install.sh as one value, or one per architecture', () => {
    expect(paramsFile(JOIN, { kind: 'hostPath', path: '/srv/p.tgz', sha256: A })).toContain(
      `\nPACKAGE_SHA256=${A}\n`,
    );
    const perArch = paramsFile(JOIN, {
      kind: 'url',
      url: 'https://pkg.example/p-{arch}.tgz',
      sha256: { amd64: A, arm64: B },
    });
    expect(perArch).toContain(`\nPACKAGE_SHA256_AMD64=${A}\nPACKAGE_SHA256_ARM64=${B}\n`);
    expect(paramsFile(JOIN, { kind: 'none' })).not.toContain('SHA256');
  });

  it('is the architecture’s own, else the one value, else none', () => {
    expect(expectedSha256({ kind: 'image', path: '/p', sha256: A }, 'arm64')).toBe(A);
    expect(expectedSha256({ kind: 'image', path: '/p', sha256: { arm64: B } }, 'arm64')).toBe(B);
    expect(expectedSha256({ kind: 'image', path: '/p', sha256: { arm64: B } }, 'amd64')).toBe('');
  });

  it('is refused at the Lambdas when malformed, naming the field', () => {
    for (const sha256 of [A.toUpperCase(), A.slice(1), `${A}\nPACKAGE=/x`, { riscv64: A }]) {
      const parsed = packageSourceSchema.safeParse({ kind: 'hostPath', path: '/srv/p.tgz', sha256 });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path[0]).toBe('sha256');
    }
  });
});
