import { describe, expect, it } from 'vitest';
import type { TaskSummary } from '../../../lambdas/domain/contracts';
import { boundError, boundReason, redactSecrets } from '../../../lambdas/domain/failure-reason';
import { MAX_REASON_LENGTH, STATE_LISTED_FAILURES, summaryForState } from '../../../lambdas/domain/summary';
import { AttemptsExhaustedError, ErrorNames } from '../../../lambdas/errors';

describe('a node failure reason', () => {
  it('is one line of at most the bound, whatever was thrown', () => {
    const reason = boundReason(`first\n\n  second\tthird\n${'x'.repeat(5000)}`);
    expect(reason.startsWith('first second third x')).toBe(true);
    expect([...reason]).toHaveLength(MAX_REASON_LENGTH);
    expect(reason.endsWith('…')).toBe(true);
    expect(reason).not.toContain('\n');
    expect(boundReason('  \n ')).toBe('unknown error');
  });

  it('replaces what is shaped like a token, a private key or a password setting', () => {
    const text = [
      'join --token abcdef.0123456789abcdef failed',
      'key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY----- done',
      'password=hunter2 passwd: swordfish',
    ].join(' ');
    const redacted = redactSecrets(text);
    expect(redacted).not.toMatch(/abcdef\.0123456789abcdef|b3BlbnNzaC1rZXk|hunter2|swordfish/);
    expect(redacted).toContain('[private key] done');
    expect(redacted).toContain('password=[redacted]');
  });

  it('leaves its Lambda with that reason and a one-line stack, keeping the name Step Functions matches', () => {
    const thrown = new AttemptsExhaustedError(`exit 3\n${'output line\n'.repeat(500)}`);
    const bounded = boundError(thrown);
    expect(bounded.name).toBe(ErrorNames.AttemptsExhausted);
    expect(bounded).toBeInstanceOf(AttemptsExhaustedError);
    expect([...bounded.message].length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(bounded.stack).toBe(`${bounded.name}: ${bounded.message}`);
    expect(boundError('a string').message).toBe('a string');
  });
});

describe('the summary the state carries', () => {
  const summaryOf = (failed: number): TaskSummary => {
    const failures = Array.from({ length: failed }, (_, i) => ({
      name: `edge-${i}`,
      ip: `10.0.${i >> 8}.${i & 255}`,
      reason: 'r'.repeat(MAX_REASON_LENGTH),
    }));
    return {
      nodetaskStatus: 'creating',
      nodeStatus: Object.fromEntries(failures.map((f) => [f.name, f.ip])),
      installed: 0,
      failed,
      skipped: 0,
      failures,
      message: 'm',
    };
  };

  it('lists the first failures only, counting the others, whatever fails', () => {
    const bounded = summaryForState(summaryOf(10_000));
    expect(bounded.failures).toHaveLength(STATE_LISTED_FAILURES);
    expect(Object.keys(bounded.nodeStatus)).toHaveLength(STATE_LISTED_FAILURES);
    expect(bounded).toMatchObject({ failed: 10_000, failuresOmitted: 10_000 - STATE_LISTED_FAILURES });
    expect(JSON.stringify(bounded).length).toBeLessThan(32 * 1024);
  });

  it('is the summary itself when it lists few enough', () => {
    const small = summaryOf(STATE_LISTED_FAILURES);
    expect(summaryForState(small)).toBe(small);
  });
});
