import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../../lambdas/adapters/sfn';
import { ErrorNames } from '../../../lambdas/errors';
import { parseReinstallDetail } from '../../../lambdas/domain/reinstall-detail';
import type { Log } from '../../../lambdas/ports';
import { reinstall, type ReinstallDependencies } from '../../../lambdas/use-cases/reinstall';

const sfn = mockClient(SFNClient);
const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Penetrator-workflow';
const lines: string[] = [];
const log: Log = {
  debug: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
  info: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
  warn: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
  error: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
};

function deps(): ReinstallDependencies {
  return {
    // The override form with a proxy node needs nothing from the cluster: reading it is a bug here.
    kube: () => Promise.reject(new Error('the cluster must not be read for a fully given reinstall')),
    log,
    workflow: new StepFunctionsWorkflow(STATE_MACHINE, new SFNClient({})),
  };
}

const overrideEvent = {
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  source: 'penetrator',
  'detail-type': 'Reinstall Nodes',
  detail: {
    cluster: 'edge',
    nodeNamesOverride: { 'edge-abc123': '198.18.0.10', 'edge-def456': '198.18.0.11' },
    sshCredential: 'login-secret',
    proxyNode: 'proxy-0',
  },
};

beforeEach(() => {
  sfn.reset();
  lines.length = 0;
});

// Starting (names, pre-checks, the execution input) is tested against a real apiserver in
// test/integration/api/start-doors.test.ts; here only what is refused before the cluster is read.
describe('reinstall from a Reinstall Nodes event', () => {
  it('refuses a NodeTask the API would refuse, with the same problem lines, and starts nothing', async () => {
    const error = await reinstall(deps(), {
      ...overrideEvent,
      detail: { ...overrideEvent.detail, nodeNamesOverride: { 'edge-abc123': '198.18.0.300' } },
    }).then(
      () => ({ name: 'none', problems: [] as string[] }),
      (e: unknown) => e as Error & { problems: string[] },
    );
    expect(error.name).toBe(ErrorNames.InvalidNodeTask);
    expect(error.problems).toEqual([
      'spec.nodeNamesOverride.edge-abc123: "198.18.0.300" is not an IPv4 or IPv6 address',
    ]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('parseReinstallDetail', () => {
  it('accepts each of the three forms', () => {
    const base = { cluster: 'edge', sshCredential: 'login-secret' };
    expect(parseReinstallDetail({ ...base, nodes: ['a', 'b', 'a'] }).selection).toEqual({
      kind: 'nodes',
      nodes: ['a', 'b'],
    });
    expect(parseReinstallDetail({ ...base, labelSelector: 'role=edge' }).selection).toEqual({
      kind: 'labelSelector',
      labelSelector: 'role=edge',
    });
    expect(parseReinstallDetail({ ...base, nodeNamesOverride: { a: '198.18.0.1' } }).selection.kind).toBe(
      'nodeNamesOverride',
    );
  });

  it('lists every problem of a malformed detail, one line per field', () => {
    let problems: readonly string[] = [];
    try {
      parseReinstallDetail({ cluster: '', nodes: [], colour: 'red' });
    } catch (error) {
      problems = (error as { problems: string[] }).problems;
    }
    expect(problems).toEqual([
      'detail.cluster: is empty; expected the registered cluster name',
      'detail.sshCredential: expected the name of the SSH credential',
      'detail.nodes: is empty; expected at least one node name',
      'detail.colour: unknown field',
    ]);
  });

  it('wants exactly one of nodes, nodeNamesOverride and labelSelector', () => {
    expect(() =>
      parseReinstallDetail({ cluster: 'c', sshCredential: 's', nodes: ['a'], labelSelector: 'x=y' }),
    ).toThrow(
      'detail: set exactly one of nodes, nodeNamesOverride or labelSelector (got nodes, labelSelector)',
    );
    expect(() => parseReinstallDetail({ cluster: 'c', sshCredential: 's' })).toThrow('(got none)');
  });
});
