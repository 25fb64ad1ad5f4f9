import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  globMatches,
  hostFieldMatches,
  targetsWithoutKnownKey,
  hostKeyAlgorithms,
  keysFor,
  verdict,
} from '../../../lambdas/direct/known-hosts';
import {
  BUDGET_ANNOTATION,
  DIRECT_LEASE_MARGIN_SECONDS,
  OUTCOME_ANNOTATION,
  REASON_ANNOTATION,
  directAttemptLease,
  directRecordName,
  finishedLease,
  nextDirectStep,
  readDirectAttempt,
} from '../../../lambdas/direct/record';
import type { LeaseObject } from '../../../lambdas/domain/kube-types';
import type { PreparedTask } from '../../../lambdas/domain/prepared-task';
import { DIRECT_MARGIN_SECONDS, attemptBudgetSeconds } from '../../../lambdas/direct/install';

const task: PreparedTask = {
  name: 'edge-batch',
  cluster: 'prod',
  labelValue: 'edge-batch-abc123',
  mode: 'direct',
  installer: 'edgeadm',
  credential: 'login',
  sshUser: 'root',
  sshPort: 22,
  executionId: 'arn:aws:states:eu-west-1:1:execution:penetrator:run-1',
  maxAttempts: 3,
  attemptTimeoutSeconds: 900,
  pollSeconds: 15,
  ownerUid: 'uid-1',
  taskObject: 'penetrator-task-edge-batch',
  credentialSecret: 'penetrator-credential-edge-batch',
  scriptConfigMap: 'penetrator-script-edge-batch',
};
const node = { name: 'edge-a1b2c3', ip: '198.18.1.10', proxyNode: '', reinstall: false };
const t0 = new Date('2026-11-24T10:00:00.000Z');
const later = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);

function lease(attempt: number, budgetSeconds = 300, executionId = task.executionId): LeaseObject {
  return directAttemptLease({ task: { ...task, executionId }, node, attempt, budgetSeconds, now: t0 });
}

describe('the record of a direct attempt', () => {
  it('is a Lease owned by the task, held for the budget plus a margin, marked running', () => {
    const record = lease(2);
    expect(record.metadata).toMatchObject({
      name: directRecordName(task.name, node.name),
      namespace: 'edge-system',
      ownerReferences: [{ kind: 'ConfigMap', name: task.taskObject, uid: task.ownerUid }],
      annotations: { [OUTCOME_ANNOTATION]: 'running', [BUDGET_ANNOTATION]: '300' },
      labels: { 'penetrator.superedge.io/attempt': '2' },
    });
    expect(record.metadata.name).toMatch(/^pd-[0-9a-f]{10}-[0-9a-f]{10}$/);
    expect(record.spec.leaseDurationSeconds).toBe(300 + DIRECT_LEASE_MARGIN_SECONDS);
    expect(readDirectAttempt(record, later(10))).toMatchObject({
      attempt: 2,
      outcome: 'running',
      budgetSeconds: 300,
    });
  });

  it('expires when nobody wrote an outcome before its Lease ran out', () => {
    expect(readDirectAttempt(lease(1), later(300 + DIRECT_LEASE_MARGIN_SECONDS + 1)).outcome).toBe('expired');
  });

  it('keeps the outcome, one line of reason, and the duration once finished', () => {
    const failed = finishedLease(lease(1), {
      outcome: 'failed',
      reason: 'exit code 3:\n arch: ssh: x',
      at: later(42),
    });
    expect(failed.metadata.annotations).toMatchObject({
      [OUTCOME_ANNOTATION]: 'failed',
      [REASON_ANNOTATION]: 'exit code 3: arch: ssh: x',
    });
    // A finished record never expires into "expired": its outcome stands.
    expect(readDirectAttempt(failed, later(10_000))).toMatchObject({
      outcome: 'failed',
      durationSeconds: 42,
    });
    const succeeded = finishedLease(failed, { outcome: 'succeeded', at: later(50) });
    expect(succeeded.metadata.annotations?.[REASON_ANNOTATION]).toBeUndefined();
  });
});

describe('what Start install does next', () => {
  const next = (record: LeaseObject | undefined, at = later(1)) =>
    nextDirectStep(record, task.executionId, task.maxAttempts, at);

  it('starts the first attempt when there is no record', () => {
    expect(next(undefined)).toEqual({ kind: 'start', attempt: 1 });
  });

  it('follows this run’s attempt while it runs and once it succeeded', () => {
    expect(next(lease(2))).toEqual({ kind: 'follow', attempt: 2 });
    expect(next(finishedLease(lease(2), { outcome: 'succeeded', at: t0 }))).toEqual({
      kind: 'follow',
      attempt: 2,
    });
  });

  it('starts the next attempt after a failed or expired one', () => {
    expect(next(finishedLease(lease(1), { outcome: 'failed', reason: 'r', at: t0 }))).toEqual({
      kind: 'start',
      attempt: 2,
    });
    expect(next(lease(2), later(1000))).toEqual({ kind: 'start', attempt: 3 });
  });

  it('stops at the task’s attempts with the last reason', () => {
    expect(
      next(finishedLease(lease(3), { outcome: 'failed', reason: 'exit code 3: arch: ssh: no', at: t0 })),
    ).toEqual({
      kind: 'exhausted',
      attempts: 3,
      lastReason: 'exit code 3: arch: ssh: no',
    });
    expect(next(lease(3, 60), later(1000))).toMatchObject({
      kind: 'exhausted',
      lastReason: 'the attempt exceeded its deadline of 60 s (it never reported an outcome)',
    });
  });

  it('follows another run’s attempt only while it runs, then starts afresh', () => {
    const earlier = lease(3, 300, 'arn:aws:states:eu-west-1:1:execution:penetrator:run-0');
    expect(next(earlier)).toEqual({ kind: 'follow', attempt: 3 });
    expect(next(finishedLease(earlier, { outcome: 'failed', reason: 'r', at: t0 }))).toEqual({
      kind: 'start',
      attempt: 1,
    });
    expect(next(earlier, later(1000))).toEqual({ kind: 'start', attempt: 1 });
  });
});

describe('the attempt budget', () => {
  it('is the task’s deadline, never more than the Lambda’s remaining time less the margin', () => {
    expect(attemptBudgetSeconds(900)).toBe(900);
    expect(attemptBudgetSeconds(900, 900_000)).toBe(900 - DIRECT_MARGIN_SECONDS);
    expect(attemptBudgetSeconds(120, 900_000)).toBe(120);
    expect(attemptBudgetSeconds(900, 45_500)).toBe(45 - DIRECT_MARGIN_SECONDS);
  });
});

describe('known_hosts', () => {
  const blob = Buffer.from('ssh-ed25519 key blob one');
  const other = Buffer.from('ssh-ed25519 key blob two');
  const b64 = blob.toString('base64');

  it('names a target by address, or [address]:port off port 22', () => {
    expect(keysFor(`198.18.1.10 ssh-ed25519 ${b64}`, '198.18.1.10', 22)).toHaveLength(1);
    expect(keysFor(`198.18.1.10 ssh-ed25519 ${b64}`, '198.18.1.10', 2222)).toHaveLength(0);
    expect(keysFor(`[198.18.1.10]:2222 ssh-ed25519 ${b64}`, '198.18.1.10', 2222)).toHaveLength(1);
  });

  it.each([
    ['*', '198.18.1.10', true],
    ['', '', true],
    ['', 'a', false],
    ['198.18.*.1?', '198.18.200.10', true],
    ['198.18.*.1?', '198.18.200.1', false],
    ['*.*.*.10', '198.18.1.10', true],
    ['[198.18.1.10]:*', '[198.18.1.10]:2222', true],
    ['EDGE-?', 'edge-1', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['**a', 'a', true],
  ])('matches the pattern %j against %j as OpenSSH does: %s', (pattern, name, expected) => {
    expect(globMatches(pattern, name)).toBe(expected);
  });

  it('answers a pattern of many stars against a long name without backtracking through every split', () => {
    // As a regular expression (.*a){20}b this takes longer than the test's timeout.
    expect(globMatches(`${'*a'.repeat(20)}b`, 'a'.repeat(60))).toBe(false);
    expect(hostFieldMatches(`${'*1'.repeat(20)}x,198.18.*`, '198.18.1.1111111111111111111111111111')).toBe(
      true,
    );
  });

  it('names the targets known_hosts records no usable key for', () => {
    const text = [
      `198.18.1.10 ssh-ed25519 ${b64}`,
      `[198.18.1.11]:2222 ssh-ed25519 ${b64}`,
      `@revoked 198.18.1.12 ssh-ed25519 ${b64}`,
    ].join('\n');
    expect(targetsWithoutKnownKey(text, ['198.18.1.10', '198.18.1.11', '198.18.1.12'], 22)).toEqual([
      '198.18.1.11',
      '198.18.1.12',
    ]);
    expect(targetsWithoutKnownKey(text, ['198.18.1.11'], 2222)).toEqual([]);
    expect(targetsWithoutKnownKey('', ['198.18.1.10'], 22)).toEqual(['198.18.1.10']);
  });

  it('understands patterns, negation, hashed names, comments, markers', () => {
    expect(hostFieldMatches('198.18.1.*,!198.18.1.11', '198.18.1.10')).toBe(true);
    expect(hostFieldMatches('198.18.1.*,!198.18.1.11', '198.18.1.11')).toBe(false);
    expect(hostFieldMatches('198.18.1.1?', '198.18.1.10')).toBe(true);
    expect(hostFieldMatches('198.18.1.1', '198.18.1.10')).toBe(false);
    const salt = Buffer.from('0123456789abcdef0123');
    const hash = createHmac('sha1', salt).update('198.18.1.10').digest('base64');
    expect(hostFieldMatches(`|1|${salt.toString('base64')}|${hash}`, '198.18.1.10')).toBe(true);
    expect(hostFieldMatches(`|1|${salt.toString('base64')}|${hash}`, '198.18.1.11')).toBe(false);
    const text = [
      '# lab',
      '',
      `@cert-authority * ssh-ed25519 ${other.toString('base64')}`,
      `@revoked 198.18.1.10 ssh-ed25519 ${other.toString('base64')}`,
      `198.18.1.10 ssh-ed25519 ${b64} root@edge`,
      'garbage',
    ].join('\n');
    const keys = keysFor(text, '198.18.1.10', 22);
    expect(keys.map((k) => k.revoked)).toEqual([true, false]);
    expect(verdict(keys, blob)).toBe('match');
    expect(verdict(keys, other)).toBe('revoked');
    expect(verdict(keys, Buffer.from('third'))).toBe('mismatch');
    expect(verdict([], blob)).toBe('unknown');
  });

  it('asks for the recorded key types, RSA with SHA-2 first', () => {
    const keys = keysFor(`h ssh-rsa ${b64}\nh ssh-ed25519 ${b64}`, 'h', 22);
    expect(hostKeyAlgorithms(keys)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
    expect(hostKeyAlgorithms([])).toBeUndefined();
  });

  it('prints fingerprints as ssh-keygen -l does', () => {
    expect(fingerprint(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
