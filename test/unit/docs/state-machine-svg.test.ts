import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../../cli/local/definition';
import {
  type AslMachine,
  choiceLabel,
  type GraphLayout,
  layoutGraph,
  renderStateMachineSvg,
  SVG_PATH,
} from '../../../scripts/render-state-machine';

interface Box {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Every state of a layout and its nested graphs, in the outermost graph's coordinates. */
function boxes(graph: GraphLayout, dx = 0, dy = 0): Array<Box & { children: Box[] }> {
  return graph.states.flatMap((s) => {
    const own = { name: s.name, x: s.x + dx, y: s.y + dy, width: s.width, height: s.height };
    const nested = s.inner.flatMap((c) => boxes(c.graph, own.x + c.dx, own.y + c.dy));
    return [{ ...own, children: nested }, ...nested];
  });
}

const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Nested states sit inside their container; states of one graph never overlap. */
function expectReadable(graph: GraphLayout): void {
  for (const box of boxes(graph)) for (const child of box.children) expect(inside(child, box)).toBe(true);
  const check = (g: GraphLayout): void => {
    for (const a of g.states) {
      for (const b of g.states)
        if (a !== b) expect(overlap(a, b), `${a.name} overlaps ${b.name}`).toBe(false);
      for (const c of a.inner) check(c.graph);
    }
  };
  check(graph);
}

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

describe('the state machine picture', () => {
  it('labels Choice edges with their rule and dashes Catch edges', () => {
    const svg = renderStateMachineSvg(sample);
    const graph = layoutGraph(sample, true);
    expect(graph.edges.map((e) => [e.from, e.to, e.kind, e.label ?? '', e.back])).toEqual([
      ['Plan', 'Each', 'next', '', false],
      ['Plan', 'Aborted', 'catch', 'catch: any error', false],
      ['Each', 'Done?', 'next', '', false],
      ['Done?', 'Succeeded', 'choice', 'summary.failed = 0', false],
      ['Done?', 'Failed', 'choice', 'otherwise', false],
    ]);
    expect(svg).toMatch(
      /<path class="edge catch" d="[^"]+" fill="none" stroke="#c0392b" stroke-width="1.2" stroke-dasharray="5 4"/,
    );
    expect(svg).not.toMatch(/<path class="edge (next|choice)[^>]*stroke-dasharray/);
    expect(svg).toContain('>summary.failed = 0</text>');
    expect(svg).toContain('>check.phase = &quot;Succeeded&quot;</text>');
    expect(svg).toContain('>Lambda · plan</text>');
    expect(svg).toContain('>retry ×3, backoff ×2, jitter: InstallFailed</text>');
  });

  it("draws a loop as a back edge and puts the Map's processor and the Parallel's branch inside them", () => {
    const graph = layoutGraph(sample, true);
    const map = graph.states.find((s) => s.name === 'Each')!;
    const parallel = map.inner[0]!.graph.states.find((s) => s.name === 'Attempt')!;
    const branch = parallel.inner[0]!.graph;
    expect(branch.edges.find((e) => e.from === 'Finished?' && e.to === 'Poll')).toMatchObject({
      back: true,
      label: 'otherwise',
    });
    expectReadable(graph);
  });

  it('keeps the happy path in one column and what only a Catch reaches beside it', () => {
    const graph = layoutGraph(sample, true);
    const at = (name: string) => graph.states.find((s) => s.name === name)!;
    const centre = (name: string) => at(name).x + at(name).width / 2;
    expect(centre('Plan')).toBe(centre('Each'));
    expect(centre('Each')).toBe(centre('Done?'));
    expect(at('Aborted').lane).toBe(1);
    expect(at('Aborted').x).toBeGreaterThan(at('Each').x + at('Each').width);
    expect(at('Succeeded').x).toBeLessThan(at('Failed').x);
  });

  it('reads Choice rules as short conditions', () => {
    expect(choiceLabel({ Variable: '$.a.b', NumericGreaterThanEquals: 3, Next: 'x' })).toBe('a.b ≥ 3');
    expect(choiceLabel({ Variable: '$.flag', BooleanEquals: true, Next: 'x' })).toBe('flag = true');
    expect(choiceLabel({ Variable: '$.x', IsPresent: false, Next: 'x' })).toBe('x absent');
  });
});

describe('docs/state-machine.svg', () => {
  let definition: object;
  beforeAll(async () => {
    definition = await loadSynthesizedDefinition();
  }, 120_000);

  it('is the render of the synthesized definition (regenerate: npm run docs:state-machine)', () => {
    const fresh = renderStateMachineSvg(definition);
    expect(renderStateMachineSvg(definition)).toBe(fresh);
    expect(readFileSync(SVG_PATH, 'utf8')).toBe(fresh);
  });

  it('shows every state of the workflow, readably', () => {
    const graph = layoutGraph(definition as AslMachine, true);
    const names = boxes(graph)
      .map((b) => b.name)
      .sort();
    expect(names).toEqual(
      [
        'All nodes installed?',
        'Check install',
        'Clean up after error',
        'Install finished?',
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
      ].sort(),
    );
    expectReadable(graph);
  });
});
