/**
 * What following one node costs in state transitions, from the rendered definition: the states a
 * successful attempt enters, plus one StateRetried per look Check install's Retry takes at a running
 * install (the Retry semantics AWS documents: IntervalSeconds × BackoffRate^n, capped at
 * MaxDelaySeconds, no jitter). The first wait is Start install's (domain/install-wait.ts).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { StateGraph } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { firstWaitSeconds } from '../../../lambdas/domain/install-wait';
import { ErrorNames } from '../../../lambdas/errors';
import { InstallNode } from '../../../statemachine/install-node';
import { StateNames } from '../../../statemachine/state-names';

type State = Record<string, unknown> & { Type: string; Next?: string; End?: boolean };
interface Graph {
  StartAt: string;
  States: Record<string, State>;
}
interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxDelaySeconds: number;
  MaxAttempts: number;
}

const arn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${name}`;

function renderFragment(): Graph {
  const stack = new Stack(new App(), 'Test');
  const fragment = new InstallNode(stack, 'InstallNode', {
    startInstall: LambdaFunction.fromFunctionArn(stack, 'Start', arn('start')),
    checkInstall: LambdaFunction.fromFunctionArn(stack, 'Check', arn('check')),
  });
  return stack.resolve(new StateGraph(fragment.startState, 'install node').toGraphJson()) as Graph;
}

const graph = renderFragment();
const branch = (graph.States[StateNames.installNode]!.Branches as Graph[])[0]!;
const runningRetry = (branch.States[StateNames.checkInstall]!.Retry as Retrier[]).find((r) =>
  r.ErrorEquals.includes(ErrorNames.InstallRunning),
)!;

/** States entered by a node whose attempt succeeds at its first look, walked from the graph. */
function successPathLength(): number {
  const walk = (g: Graph, from: string): number => {
    const state = g.States[from]!;
    const inner =
      state.Type === 'Parallel'
        ? walk((state.Branches as Graph[])[0]!, (state.Branches as Graph[])[0]!.StartAt)
        : 0;
    return 1 + inner + (state.Next === undefined ? 0 : walk(g, state.Next));
  };
  return walk(graph, graph.StartAt);
}

/** Transitions of one node whose install is seen finished `installSeconds` after Start install. */
function transitionsPerNode(installSeconds: number, observedSeconds: number | undefined): number {
  let at = firstWaitSeconds({
    ...(observedSeconds === undefined ? {} : { observedSeconds }),
    pollSeconds: 15,
    attemptTimeoutSeconds: 7200,
  });
  let retries = 0;
  while (at < installSeconds) {
    expect(retries).toBeLessThan(runningRetry.MaxAttempts);
    at += Math.min(
      runningRetry.IntervalSeconds * runningRetry.BackoffRate ** retries,
      runningRetry.MaxDelaySeconds,
    );
    retries += 1;
  }
  return successPathLength() + retries;
}

describe('the cost of following one install', () => {
  it('enters six states when the first look finds the install done', () => {
    expect(successPathLength()).toBe(6);
  });

  it('does not grow with the install time once the task has seen an install finish', () => {
    // Each install seen finished 10 s later than the last one took: the same tail at any length.
    const costs = [30, 300, 1800, 7000].map((t) => transitionsPerNode(t + 10, t));
    expect(new Set(costs).size).toBe(1);
    expect(costs[0]).toBe(6 + 2);
  });

  it('keeps a 5-minute install within 15 transitions before any install of the task has finished', () => {
    expect(transitionsPerNode(300, undefined)).toBeLessThanOrEqual(15);
    // A fixed 15 s poll (a Wait, a Task and a Choice per look) would have taken 4 + 3 × 20.
    expect(transitionsPerNode(300, undefined)).toBeLessThan(4 + 3 * 20);
  });
});
