import { describe, expect, it } from 'vitest';
import { firstWaitSeconds, observedInstallSeconds } from '../../../lambdas/domain/install-wait';

describe('firstWaitSeconds', () => {
  it('waits as long as the last finished install took, in whole seconds', () => {
    expect(firstWaitSeconds({ observedSeconds: 41.2, pollSeconds: 15, attemptTimeoutSeconds: 900 })).toBe(42);
  });

  it('waits the poll interval before any install of the task has finished', () => {
    expect(firstWaitSeconds({ pollSeconds: 15, attemptTimeoutSeconds: 900 })).toBe(15);
    expect(firstWaitSeconds({ observedSeconds: 0, pollSeconds: 15, attemptTimeoutSeconds: 900 })).toBe(15);
    expect(
      firstWaitSeconds({ observedSeconds: Number.NaN, pollSeconds: 15, attemptTimeoutSeconds: 900 }),
    ).toBe(15);
  });

  it('never waits past the attempt deadline, nor less than a second', () => {
    expect(firstWaitSeconds({ observedSeconds: 5000, pollSeconds: 15, attemptTimeoutSeconds: 900 })).toBe(
      900,
    );
    expect(firstWaitSeconds({ observedSeconds: 0.2, pollSeconds: 15, attemptTimeoutSeconds: 900 })).toBe(1);
  });
});

describe('observedInstallSeconds', () => {
  it('is the span from the Job creation to its completion, rounded up', () => {
    const job = {
      metadata: { creationTimestamp: '2026-01-01T00:00:00Z' },
      status: { startTime: '2026-01-01T00:00:04Z', completionTime: '2026-01-01T00:00:31.5Z' },
    };
    expect(observedInstallSeconds(job)).toBe(32);
  });

  it('is unknown for a Job not completed or with times out of order', () => {
    expect(
      observedInstallSeconds({ metadata: { creationTimestamp: '2026-01-01T00:00:00Z' }, status: {} }),
    ).toBeUndefined();
    expect(
      observedInstallSeconds({
        metadata: { creationTimestamp: '2026-01-01T00:01:00Z' },
        status: { completionTime: '2026-01-01T00:00:00Z' },
      }),
    ).toBeUndefined();
  });
});
