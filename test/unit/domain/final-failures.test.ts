import { describe, expect, it } from 'vitest';
import { finalFailureOf } from '../../../lambdas/domain/final-failures';
import { attemptFailedError, ErrorNames } from '../../../lambdas/errors';
import { attemptRetryErrors } from '../../../statemachine/retry-policies';

describe('finalFailureOf', () => {
  it('recognises the failures no retry can change, in the wording install.sh and direct mode share', () => {
    expect(finalFailureOf('exit code 4: arch: unsupported architecture armv7l (Job pj-1)')).toBe(
      'UnsupportedArchitecture',
    );
    expect(finalFailureOf('exit code 3: arch: ssh: permission denied for root@10.0.0.5')).toBe(
      'LoginRefused',
    );
    expect(
      finalFailureOf('exit code 3: connect: ssh: the host key of 10.0.0.5 does not match known_hosts'),
    ).toBe('HostKeyRejected');
    expect(finalFailureOf('exit code 3: connect: ssh: the host key of 10.0.0.5 is not in known_hosts')).toBe(
      'HostKeyRejected',
    );
    expect(
      finalFailureOf('exit code 5: join: another install is running on the machine; this one did not start'),
    ).toBe('MachineBusy');
    expect(
      finalFailureOf(
        `exit code 6: package: the install package /opt/p.tgz does not match its sha256 (expected ${'a'.repeat(64)}, found ${'b'.repeat(64)}) (Job pj-1)`,
      ),
    ).toBe('PackageChecksumMismatch');
  });

  it('leaves every other failure to the retry', () => {
    for (const reason of [
      'exit code 3: arch: ssh: cannot reach 10.0.0.5:22 (timed out)',
      'exit code 5: join: edgeadm join failed (exit 1)',
      'exit code 5: package: cannot download https://pkg.example/p.tgz',
      'the attempt exceeded its deadline of 900 s (Job pj-1)',
    ]) {
      expect(finalFailureOf(reason)).toBeUndefined();
    }
  });
});

describe('attemptFailedError', () => {
  it('gives a final failure an error name the per-node retry does not match, and the rest InstallFailed', () => {
    const names = [
      attemptFailedError('m', 'UnsupportedArchitecture'),
      attemptFailedError('m', 'LoginRefused'),
      attemptFailedError('m', 'HostKeyRejected'),
      attemptFailedError('m', 'MachineBusy'),
      attemptFailedError('m', 'PackageChecksumMismatch'),
    ].map((e) => e.name);
    expect(names).toEqual([
      ErrorNames.UnsupportedArchitecture,
      ErrorNames.LoginRefused,
      ErrorNames.HostKeyRejected,
      ErrorNames.MachineBusy,
      ErrorNames.PackageChecksumMismatch,
    ]);
    for (const name of names) expect(attemptRetryErrors).not.toContain(name);
    expect(attemptFailedError('m', undefined).name).toBe(ErrorNames.InstallFailed);
    expect(attemptRetryErrors).toContain(ErrorNames.InstallFailed);
  });
});
