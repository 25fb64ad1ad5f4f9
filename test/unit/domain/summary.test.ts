import { describe, expect, it } from 'vitest';
import type { NodeResult } from '../../../lambdas/domain/contracts';
import { extractReason, summarize, type SummaryInput } from '../../../lambdas/domain/summary';

const installed = (name: string, ip: string): NodeResult => ({ name, ip, state: 'installed' });
const failed = (name: string, ip: string, reason?: string): NodeResult => ({
  name,
  ip,
  state: 'failed',
  error: 'Penetrator.InstallFailed',
  ...(reason === undefined ? {} : { reason }),
});

function input(results: NodeResult[], skipped: SummaryInput['skipped'] = []): SummaryInput {
  return { results, skipped };
}

describe('summarize', () => {
  it('is ready when nothing failed', () => {
    expect(summarize(input([installed('edge-a', '10.0.0.1')], [{ name: 'edge-b', ip: '10.0.0.2' }]))).toEqual(
      {
        nodetaskStatus: 'ready',
        nodeStatus: {},
        installed: 1,
        failed: 0,
        skipped: 1,
        failures: [],
        message: 'all 2 nodes installed (1 in this run, 1 already carried the task label)',
      },
    );
    expect(summarize(input([installed('edge-a', '10.0.0.1')])).message).toBe('all 1 node installed');
  });

  it('stays creating and lists every failed node by name and IP', () => {
    const summary = summarize(
      input([
        installed('edge-a', '172.21.3.194'),
        failed('edge-abc123', '172.21.3.195', 'ssh: permission denied for root@172.21.3.195'),
        failed(
          'edge-def456',
          '172.21.3.196',
          '{"errorType":"InstallFailed","errorMessage":"install: edgeadm join exited 1","trace":["at x"]}',
        ),
        installed('edge-b', '172.21.3.197'),
        installed('edge-c', '172.21.3.198'),
      ]),
    );
    expect(summary.nodetaskStatus).toBe('creating');
    expect(summary.nodeStatus).toEqual({ 'edge-abc123': '172.21.3.195', 'edge-def456': '172.21.3.196' });
    expect(summary.installed).toBe(3);
    expect(summary.failed).toBe(2);
    expect(summary.failures[1]).toEqual({
      name: 'edge-def456',
      ip: '172.21.3.196',
      reason: 'install: edgeadm join exited 1',
    });
    expect(summary.message).toBe(
      '2 of 5 nodes failed: edge-abc123 (172.21.3.195): ssh: permission denied for root@172.21.3.195; ' +
        'edge-def456 (172.21.3.196): install: edgeadm join exited 1',
    );
  });

  it('falls back to the error name when a failure has no reason', () => {
    expect(summarize(input([failed('edge-a', '10.0.0.1')])).failures[0]!.reason).toBe(
      'Penetrator.InstallFailed',
    );
  });

  it('does not repeat the node when the error already names it', () => {
    const cause = JSON.stringify({
      errorType: 'Penetrator.AttemptsExhausted',
      errorMessage: 'node edge-a (10.0.0.1): 2 of 2 attempts failed; last: ssh: permission denied',
      trace: [],
    });
    const summary = summarize(input([failed('edge-a', '10.0.0.1', cause)]));
    expect(summary.failures[0]!.reason).toBe('2 of 2 attempts failed; last: ssh: permission denied');
    expect(summary.message).toBe(
      '1 of 1 node failed: edge-a (10.0.0.1): 2 of 2 attempts failed; last: ssh: permission denied',
    );
  });

  it('bounds the message and says how many more failed', () => {
    const results = Array.from({ length: 200 }, (_, i) =>
      failed(`edge-${i}`, `10.0.0.${i}`, 'x'.repeat(300)),
    );
    const summary = summarize(input(results));
    expect(summary.message.length).toBeLessThan(1600);
    expect(summary.message).toMatch(/^200 of 200 nodes failed: edge-0 \(10\.0\.0\.0\): x+…; /);
    expect(summary.message).toMatch(/; and 195 more$/);
    expect(Object.keys(summary.nodeStatus)).toHaveLength(200);
  });
});

describe('extractReason', () => {
  it.each([
    [
      '{"errorType":"Error","errorMessage":"ssh: cannot reach 10.0.0.1:22 (timed out)","trace":[]}',
      'ssh: cannot reach 10.0.0.1:22 (timed out)',
    ],
    ['{"errorType":"States.Timeout"}', 'States.Timeout'],
    ['plain text\n  over two lines', 'plain text over two lines'],
    ['{not json', '{not json'],
    ['', 'unknown error'],
    [undefined, 'unknown error'],
  ])('%j → %j', (cause, reason) => {
    expect(extractReason(cause)).toBe(reason);
  });

  it('keeps at most 256 characters on one line', () => {
    const reason = extractReason(JSON.stringify({ errorMessage: `${'a'.repeat(200)}\n${'b'.repeat(200)}` }));
    expect(reason).toHaveLength(256);
    expect(reason).not.toContain('\n');
    expect(reason.endsWith('…')).toBe(true);
  });
});
