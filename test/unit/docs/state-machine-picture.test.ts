import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../../cli/local/definition';
import {
  type AslMachine,
  choiceLabel,
  renderStateMachineSvg,
  stateMachineDot,
  SVG_PATH,
} from '../../../scripts/render-state-machine';

// A loop, a Choice, a Catch and a Map around a Parallel: every feature of the workflow's picture.
const sample: AslMachine = {
  StartAt: 'Plan',
  States: {
    Plan: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:PlanFunction74A84C0D',
      Next: 'Each',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Aborted' }],
    },
    Each: {
      Type: 'Map',
      ItemsPath: '$.nodes',
      Next: 'Done?',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED' },
        StartAt: 'Attempt',
        States: {
          Attempt: {
            Type: 'Parallel',
            End: true,
            Retry: [
              {
                ErrorEquals: ['Penetrator.InstallFailed'],
                MaxAttempts: 3,
                BackoffRate: 2,
                JitterStrategy: 'FULL',
              },
            ],
            Branches: [
              {
                StartAt: 'Poll',
                States: {
                  Poll: { Type: 'Wait', SecondsPath: '$.pollSeconds', Next: 'Finished?' },
                  'Finished?': {
                    Type: 'Choice',
                    Choices: [{ Variable: '$.check.phase', StringEquals: 'Succeeded', Next: 'Ok' }],
                    Default: 'Poll',
                  },
                  Ok: { Type: 'Succeed' },
                },
              },
            ],
          },
        },
      },
    },
    'Done?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.summary.failed', NumericEquals: 0, Next: 'Succeeded' }],
      Default: 'Failed',
    },
    Succeeded: { Type: 'Succeed' },
    Failed: { Type: 'Fail', Error: 'Penetrator.NodesFailed' },
    Aborted: { Type: 'Fail', ErrorPath: '$.error.Error' },
  },
};

describe('the state machine as a Graphviz graph', () => {
  const dot = stateMachineDot(sample);

  it('labels Choice edges with their rule and dashes Catch edges', () => {
    expect(dot).toContain('"Done?" -> "Succeeded" [label="summary.failed = 0"]');
    expect(dot).toContain('"Done?" -> "Failed" [label="otherwise"]');
    expect(dot).toContain('"Finished?" -> "Ok" [label="check.phase = \\"Succeeded\\""]');
    expect(dot).toContain(
      '"Plan" -> "Aborted" [label="catch: any error", style=dashed, color="#c0392b", fontcolor="#c0392b"]',
    );
    expect(dot.match(/style=dashed/g)).toHaveLength(1);
  });

  it('says what each state runs and how it retries', () => {
    expect(dot).toContain('<b>Plan</b><br/><font point-size="9" color="#555555">Lambda · plan</font>');
    expect(dot).toContain(
      '<b>Attempt</b><br/><font point-size="9" color="#555555">Parallel · 1 branch</font>' +
        '<br/><font point-size="9" color="#555555">retry ×3, backoff ×2, jitter</font>' +
        '<br/><font point-size="9" color="#555555">on InstallFailed</font>',
    );
    expect(dot).toContain('Distributed Map · one iteration per item of $.nodes');
    expect(dot).toContain('Fail · error from $.error.Error');
  });

  it("nests the Parallel's branch in the Map's processor, and joins edges at the clusters' borders", () => {
    const map = dot.indexOf('subgraph "cluster Each" {');
    const parallel = dot.indexOf('subgraph "cluster Attempt" {');
    const poll = dot.indexOf('"Poll" [label=');
    expect(map).toBeGreaterThan(-1);
    expect(parallel).toBeGreaterThan(map);
    expect(poll).toBeGreaterThan(parallel);
    // Into the Map: its first state inside; out of it: its last, each clipped at the Map's border.
    expect(dot).toContain('"Plan" -> "Poll" [lhead="cluster Each"]');
    expect(dot).toContain('"Ok" -> "Done?" [ltail="cluster Each"]');
    expect(dot).toContain('"Finished?" -> "Poll" [label="otherwise"]');
  });

  it('leaves out a Catch into the state its Next already leads to', () => {
    const withCatch: AslMachine = {
      StartAt: 'A',
      States: {
        A: { Type: 'Pass', Next: 'B', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'B' }] },
        B: { Type: 'Succeed' },
      },
    };
    expect(stateMachineDot(withCatch)).not.toContain('catch');
  });

  it('refuses what is not a state machine', () => {
    expect(() => stateMachineDot({ States: {} })).toThrow(/expected a definition with StartAt and States/);
  });

  it('reads Choice rules as short conditions', () => {
    expect(choiceLabel({ Variable: '$.a.b', NumericGreaterThanEquals: 3, Next: 'x' })).toBe('a.b ≥ 3');
    expect(choiceLabel({ Variable: '$.flag', BooleanEquals: true, Next: 'x' })).toBe('flag = true');
    expect(choiceLabel({ Variable: '$.x', IsPresent: false, Next: 'x' })).toBe('x absent');
  });
});

describe('docs/state-machine.svg', () => {
  let definition: object;
  let fresh: string;
  beforeAll(async () => {
    definition = await loadSynthesizedDefinition();
    fresh = await renderStateMachineSvg(definition);
  }, 120_000);

  it('is the render of the synthesized definition (regenerate: npm run docs:state-machine)', () => {
    expect(readFileSync(SVG_PATH, 'utf8')).toBe(fresh);
  });

  it('shows every state of the workflow', () => {
    const titles = [...fresh.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!.replace(/^cluster /, ''));
    expect(titles).toEqual(
      expect.arrayContaining([
        'All nodes installed?',
        'Check install',
        'Clean up after error',
        'Install node',
        'Install nodes',
        'Node installed',
        'Plan task',
        'Prepare cluster',
        'Record failure',
        'Record success',
        'Release cluster',
        'Start install',
        'Summarize task',
        'Take cluster lock',
        'Task aborted',
        'Task failed',
        'Task succeeded',
        'Wait for install',
      ]),
    );
  });
});
