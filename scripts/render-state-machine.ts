/**
 * Draws the deployed state machine as an SVG (docs/state-machine.svg), from the definition the CDK
 * stack synthesizes, so the picture in the docs cannot drift from the workflow: a test compares the
 * checked-in file with a fresh render. `npm run docs:state-machine` rewrites it.
 *
 * The layout is small and deterministic: a top-down layering of each States map (longest path from
 * StartAt), the happy path centred, states reached only through a Catch in a column on the right, a
 * Map's item processor and a Parallel's branches drawn as nested boxes, Catch edges dashed, Choice
 * edges labelled with their rule, loops routed up the left side.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface RetryRule {
  ErrorEquals: string[];
  MaxAttempts?: number;
  BackoffRate?: number;
  JitterStrategy?: string;
}
interface CatchRule {
  ErrorEquals: string[];
  Next: string;
}
interface ChoiceRule {
  Next: string;
  Variable?: string;
  [operator: string]: unknown;
}
interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: ChoiceRule[];
  Catch?: CatchRule[];
  Retry?: RetryRule[];
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Seconds?: number;
  SecondsPath?: string;
  Error?: string;
  ErrorPath?: string;
  ItemsPath?: string;
  ItemProcessor?: AslMachine & { ProcessorConfig?: { Mode?: string } };
  Iterator?: AslMachine;
  Branches?: AslMachine[];
}
export interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

export type EdgeKind = 'next' | 'choice' | 'catch';
export interface Edge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
  /** Goes back to an earlier state (a loop): drawn up the left side. */
  back: boolean;
}

/** A state placed in its graph's coordinates; compound states carry their inner graphs. */
export interface PlacedState {
  name: string;
  type: string;
  lines: string[];
  x: number;
  y: number;
  width: number;
  height: number;
  /** 0: reached along Next/Choice edges from StartAt; 1: reached only through a Catch. */
  lane: 0 | 1;
  rank: number;
  inner: Array<{ dx: number; dy: number; graph: GraphLayout }>;
}

export interface GraphLayout {
  width: number;
  height: number;
  states: PlacedState[];
  edges: Edge[];
  /** SVG elements in this graph's coordinates. */
  svg: string[];
}

const FONT = 'Helvetica, Arial, sans-serif';
const TITLE_SIZE = 13;
const DETAIL_SIZE = 11;
const PAD_X = 12;
const LINE = 15;
const ROW_GAP = 46;
const COLUMN_GAP = 28;
const ERROR_COLUMN_GAP = 70;
const CONTAINER_PAD = 16;
const MARGIN = 20;

/** Text width without font metrics: generous per-character widths, so text always fits its box. */
function textWidth(text: string, size: number, bold = false): number {
  return Math.ceil(text.length * size * (bold ? 0.62 : 0.56));
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r = (n: number): string => String(Math.round(n * 10) / 10);

// ---------------------------------------------------------------------------------------------
// Reading the definition

/** `PlanFunction74A84C0D` → `plan`, the handler's file name (lambdas/handlers/plan.ts). */
function lambdaName(state: AslState): string | undefined {
  const fromParameters = state.Parameters?.FunctionName;
  const arn = typeof fromParameters === 'string' ? fromParameters : state.Resource;
  if (!arn || !arn.includes(':function:')) return undefined;
  const fn = arn.split(':function:')[1]?.split(':')[0] ?? '';
  const base = fn.replace(/Function[0-9A-F]{8}$/, '');
  return base.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function shortError(name: string): string {
  if (name === 'States.ALL') return 'any error';
  if (name.startsWith('Lambda.')) return 'Lambda.*';
  return name.replace(/^Penetrator\./, '').replace(/^States\./, '');
}

function errorList(names: readonly string[]): string {
  return [...new Set(names.map(shortError))].join(', ');
}

function retryLine(state: AslState): string | undefined {
  if (!state.Retry?.length) return undefined;
  return state.Retry.map((rule) => {
    const jitter = rule.JitterStrategy === 'FULL' ? ', jitter' : '';
    const backoff = rule.BackoffRate && rule.BackoffRate !== 1 ? `, backoff ×${rule.BackoffRate}` : '';
    return `retry ×${rule.MaxAttempts ?? 3}${backoff}${jitter}: ${errorList(rule.ErrorEquals)}`;
  }).join('; ');
}

function mapDetail(state: AslState): string {
  const mode = state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'Distributed Map' : 'Map';
  return `${mode} · one iteration per item of ${state.ItemsPath ?? '$'}`;
}

function parallelDetail(state: AslState): string {
  const n = state.Branches?.length ?? 0;
  return `Parallel · ${n} branch${n === 1 ? '' : 'es'}`;
}

function taskDetail(state: AslState): string {
  const fn = lambdaName(state);
  return fn ? `Lambda · ${fn}` : `Task · ${state.Resource ?? ''}`;
}

function failDetail(state: AslState): string {
  return `Fail · ${state.Error ?? (state.ErrorPath ? `error from ${state.ErrorPath}` : 'error')}`;
}

/** The grey line under a state's name: what kind of state, and what it runs. */
const DETAIL: Record<string, (state: AslState) => string> = {
  Task: taskDetail,
  Wait: (state) => `Wait · ${state.SecondsPath ?? `${state.Seconds ?? '?'} s`}`,
  Fail: failDetail,
  Map: mapDetail,
  Parallel: parallelDetail,
};

function detailLine(state: AslState): string {
  return DETAIL[state.Type]?.(state) ?? state.Type;
}

function operand(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

const OPERATORS: Record<string, string> = {
  Equals: '=',
  LessThan: '<',
  GreaterThan: '>',
  LessThanEquals: '≤',
  GreaterThanEquals: '≥',
  Matches: '~',
};

/** `{"Variable": "$.summary.failed", "NumericEquals": 0}` → `summary.failed = 0`. */
export function choiceLabel(rule: ChoiceRule): string {
  const variable = (rule.Variable ?? '').replace(/^\$\.?/, '');
  for (const [key, value] of Object.entries(rule)) {
    if (key === 'Next' || key === 'Variable') continue;
    // Longest first: NumericGreaterThanEquals ends with Equals too.
    const suffix = Object.keys(OPERATORS)
      .sort((a, b) => b.length - a.length)
      .find((op) => key.endsWith(op));
    if (suffix) return `${variable} ${OPERATORS[suffix]} ${operand(value)}`;
    if (key === 'IsPresent') return `${variable} ${value ? 'present' : 'absent'}`;
  }
  return 'rule';
}

function edgesOf(name: string, state: AslState): Array<Omit<Edge, 'back'>> {
  const edges: Array<Omit<Edge, 'back'>> = [];
  if (state.Next) edges.push({ from: name, to: state.Next, kind: 'next' });
  for (const rule of state.Choices ?? []) {
    edges.push({ from: name, to: rule.Next, kind: 'choice', label: choiceLabel(rule) });
  }
  if (state.Default) edges.push({ from: name, to: state.Default, kind: 'choice', label: 'otherwise' });
  for (const rule of state.Catch ?? []) {
    // A Catch into the state's own Next adds nothing to the picture.
    if (rule.Next === state.Next) continue;
    edges.push({ from: name, to: rule.Next, kind: 'catch', label: `catch: ${errorList(rule.ErrorEquals)}` });
  }
  return edges;
}

// ---------------------------------------------------------------------------------------------
// Layering

interface Analysis {
  order: string[];
  edges: Edge[];
  rank: Map<string, number>;
  lane: Map<string, 0 | 1>;
}

/** DFS from StartAt: the loops' back edges, and the states in a topological order of the rest. */
function depthFirst(machine: AslMachine, raw: Array<Omit<Edge, 'back'>>): { order: string[]; edges: Edge[] } {
  const out = new Map<string, Array<Omit<Edge, 'back'>>>();
  for (const e of raw) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const onStack = new Set<string>();
  const done = new Set<string>();
  const postorder: string[] = [];
  const back = new Set<Omit<Edge, 'back'>>();
  const visit = (name: string): void => {
    onStack.add(name);
    // Reverse postorder lists the state finished last first: so visit Catch targets first and the
    // other edges backwards, and the happy path comes out first, siblings in definition order.
    const edgesOut = out.get(name) ?? [];
    const ordered = [
      ...edgesOut.filter((e) => e.kind === 'catch'),
      ...edgesOut.filter((e) => e.kind !== 'catch').reverse(),
    ];
    for (const e of ordered) {
      if (onStack.has(e.to)) back.add(e);
      else if (!done.has(e.to) && machine.States[e.to]) visit(e.to);
    }
    onStack.delete(name);
    done.add(name);
    postorder.push(name);
  };
  visit(machine.StartAt);
  for (const name of Object.keys(machine.States)) if (!done.has(name)) visit(name);
  return { order: postorder.reverse(), edges: raw.map((e) => ({ ...e, back: back.has(e) })) };
}

/** Longest path from the start along forward edges: a state sits below everything leading to it. */
function ranks(order: readonly string[], edges: readonly Edge[]): Map<string, number> {
  const rank = new Map<string, number>(order.map((n) => [n, 0]));
  for (const name of order) {
    for (const e of edges.filter((edge) => edge.from === name && !edge.back)) {
      rank.set(e.to, Math.max(rank.get(e.to) ?? 0, (rank.get(name) ?? 0) + 1));
    }
  }
  return rank;
}

/** Lane 0: reached from StartAt without a Catch; lane 1: reached only through one. */
function lanes(machine: AslMachine, order: readonly string[], edges: readonly Edge[]): Map<string, 0 | 1> {
  const lane = new Map<string, 0 | 1>(order.map((n) => [n, 1]));
  const queue = [machine.StartAt];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (lane.get(name) === 0) continue;
    lane.set(name, 0);
    queue.push(...edges.filter((e) => e.from === name && e.kind !== 'catch').map((e) => e.to));
  }
  return lane;
}

function analyse(machine: AslMachine): Analysis {
  const raw = Object.entries(machine.States).flatMap(([name, state]) => edgesOf(name, state));
  const { order, edges } = depthFirst(machine, raw);
  return { order, edges, rank: ranks(order, edges), lane: lanes(machine, order, edges) };
}

// ---------------------------------------------------------------------------------------------
// Sizing and placing

const STYLE: Record<string, { fill: string; stroke: string }> = {
  Task: { fill: '#e8f1fb', stroke: '#4a7ab5' },
  Choice: { fill: '#fff6dd', stroke: '#c9a227' },
  Wait: { fill: '#eef7ee', stroke: '#5f9a5f' },
  Pass: { fill: '#f4f4f4', stroke: '#888888' },
  Succeed: { fill: '#e3f6e3', stroke: '#3c8c3c' },
  Fail: { fill: '#fbe4e4', stroke: '#c0392b' },
  Map: { fill: '#fbfbfb', stroke: '#555555' },
  Parallel: { fill: '#f3f7fc', stroke: '#4a7ab5' },
};

function measure(name: string, state: AslState): PlacedState {
  const lines = [detailLine(state), retryLine(state)].filter((l): l is string => l !== undefined);
  const children = state.ItemProcessor ?? state.Iterator;
  const graphs = children
    ? [layoutGraph(children, false)]
    : (state.Branches ?? []).map((b) => layoutGraph(b, false));
  const textW = Math.max(textWidth(name, TITLE_SIZE, true), ...lines.map((l) => textWidth(l, DETAIL_SIZE)));
  const header = 10 + LINE * (1 + lines.length);
  const placed: PlacedState = {
    name,
    type: state.Type,
    lines,
    x: 0,
    y: 0,
    width: 0,
    height: 0,
    lane: 0,
    rank: 0,
    inner: [],
  };
  if (graphs.length === 0) {
    placed.width = textW + 2 * PAD_X;
    placed.height = header + 4;
    return placed;
  }
  let dx = CONTAINER_PAD;
  for (const graph of graphs) {
    placed.inner.push({ dx, dy: header + 6, graph });
    dx += graph.width + CONTAINER_PAD;
  }
  const innerH = Math.max(...graphs.map((g) => g.height));
  placed.width = Math.max(textW + 2 * PAD_X, dx);
  placed.height = header + 6 + innerH + CONTAINER_PAD;
  // Centre the inner graphs when the header is the wider part.
  const spare = placed.width - dx;
  for (const child of placed.inner) child.dx += spare / 2;
  return placed;
}

function boxSvg(s: PlacedState): string[] {
  const style = STYLE[s.type] ?? STYLE.Pass!;
  const compound = s.inner.length > 0;
  const rounded = s.type === 'Succeed' || s.type === 'Fail' ? 14 : 6;
  const out = [
    `<g class="state ${s.type.toLowerCase()}" data-state="${escapeXml(s.name)}">`,
    `<rect x="${r(s.x)}" y="${r(s.y)}" width="${r(s.width)}" height="${r(s.height)}" rx="${rounded}" fill="${style.fill}" stroke="${style.stroke}" stroke-width="${compound ? 1.5 : 1.2}"${s.type === 'Map' ? ' stroke-dasharray="8 3"' : ''}/>`,
  ];
  const cx = s.x + s.width / 2;
  const tx = compound ? s.x + PAD_X : cx;
  const anchor = compound ? 'start' : 'middle';
  out.push(
    `<text x="${r(tx)}" y="${r(s.y + 19)}" font-size="${TITLE_SIZE}" font-weight="bold" text-anchor="${anchor}">${escapeXml(s.name)}</text>`,
  );
  s.lines.forEach((line, i) => {
    out.push(
      `<text x="${r(tx)}" y="${r(s.y + 19 + LINE * (i + 1))}" font-size="${DETAIL_SIZE}" fill="#555" text-anchor="${anchor}">${escapeXml(line)}</text>`,
    );
  });
  for (const child of s.inner) {
    out.push(
      `<g transform="translate(${r(s.x + child.dx)},${r(s.y + child.dy)})">`,
      ...child.graph.svg,
      '</g>',
    );
  }
  out.push('</g>');
  return out;
}

function path(points: Array<[number, number]>, kind: EdgeKind, back: boolean): string {
  const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${r(x)},${r(y)}`).join(' ');
  const dashed = kind === 'catch' ? ' stroke-dasharray="5 4"' : '';
  const colour = kind === 'catch' ? '#c0392b' : '#444';
  const marker = kind === 'catch' ? 'arrow-catch' : 'arrow';
  return `<path class="edge ${kind}${back ? ' back' : ''}" d="${d}" fill="none" stroke="${colour}" stroke-width="1.2"${dashed} marker-end="url(#${marker})"/>`;
}

function label(x: number, y: number, text: string, anchor: 'start' | 'end', kind: EdgeKind): string {
  const colour = kind === 'catch' ? '#c0392b' : '#7a5c00';
  return `<text class="label" x="${r(x)}" y="${r(y)}" font-size="${DETAIL_SIZE}" font-style="italic" fill="${colour}" text-anchor="${anchor}">${escapeXml(text)}</text>`;
}

const rowWidth = (row: readonly PlacedState[]): number =>
  row.reduce((w, s) => w + s.width, 0) + COLUMN_GAP * Math.max(0, row.length - 1);

const widest = (texts: readonly string[]): number =>
  Math.max(0, ...texts.map((t) => textWidth(t, DETAIL_SIZE)));

/** Rows by rank: the happy path centred, Catch-only states centred in a column to its right. */
function placeRows(
  states: PlacedState[],
  edges: readonly Edge[],
  top: boolean,
): { centre: number; bottom: number } {
  const count = Math.max(0, ...states.map((s) => s.rank)) + 1;
  const rows = Array.from({ length: count }, (_, i) => states.filter((s) => s.rank === i));
  const mainRows = rows.map((row) => row.filter((s) => s.lane === 0));
  const errorRows = rows.map((row) => row.filter((s) => s.lane === 1));
  const mainWidth = Math.max(0, ...mainRows.map(rowWidth));
  const errorWidth = Math.max(0, ...errorRows.map(rowWidth));
  const backLabels = edges.filter((e) => e.back).map((e) => e.label ?? '');
  const mainLeft = MARGIN + (backLabels.length ? widest(backLabels) + 30 : 0);
  const centre = mainLeft + mainWidth / 2;
  const errorLeft = mainLeft + mainWidth + ERROR_COLUMN_GAP;
  const placeRow = (row: PlacedState[], x: number, y: number): void => {
    for (const s of row) {
      Object.assign(s, { x, y });
      x += s.width + COLUMN_GAP;
    }
  };
  let y = MARGIN + (top ? 56 : 0);
  rows.forEach((row, i) => {
    placeRow(mainRows[i]!, centre - rowWidth(mainRows[i]!) / 2, y);
    placeRow(errorRows[i]!, errorLeft + (errorWidth - rowWidth(errorRows[i]!)) / 2, y);
    y += Math.max(0, ...row.map((s) => s.height)) + ROW_GAP;
  });
  return { centre, bottom: y - ROW_GAP };
}

/** Catch edges and one label per Catch target: its edges share the last stretch. */
function catchSvg(
  edges: readonly Edge[],
  states: Map<string, PlacedState>,
): { svg: string[]; right: number } {
  const catches = edges.filter((e) => e.kind === 'catch');
  const right = Math.max(...[...states.values()].map((s) => s.x + s.width));
  const targets = [...new Set(catches.map((e) => e.to))].sort((a, b) => states.get(a)!.y - states.get(b)!.y);
  const busBase = right + (catches.length ? widest(catches.map((e) => e.label ?? '')) + 16 : 0);
  const bus = new Map(targets.map((t, i) => [t, busBase + 14 * i]));
  const svg = catches.flatMap((e) => edgeSvg(e, states, bus));
  const labelled = new Set<string>();
  for (const e of catches) {
    const key = `${e.to}\n${e.label ?? ''}`;
    if (labelled.has(key)) continue;
    labelled.add(key);
    const to = states.get(e.to)!;
    svg.push(label(to.x + to.width + 6, to.y + to.height / 2 - 5, e.label ?? '', 'start', 'catch'));
  }
  return { svg, right: targets.length ? busBase + 14 * targets.length : right };
}

/** The whole machine's Start and End markers, with edges from StartAt and into End. */
function startAndEnd(
  machine: AslMachine,
  states: Map<string, PlacedState>,
  centre: number,
  bottom: number,
): { svg: string[]; bottom: number } {
  const first = states.get(machine.StartAt)!;
  const firstCentre = first.x + first.width / 2;
  const svg = [
    marker(firstCentre, MARGIN + 14, 'Start'),
    path(
      [
        [firstCentre, MARGIN + 26],
        [firstCentre, first.y],
      ],
      'next',
      false,
    ),
  ];
  const endY = bottom + ROW_GAP + 10;
  svg.push(marker(centre, endY + 12, 'End'));
  for (const s of [...states.values()].filter((p) => terminal(machine.States[p.name]!))) {
    const sx = s.x + s.width / 2;
    svg.push(
      path(
        [
          [sx, s.y + s.height],
          [sx, endY - 14],
          [centre, endY - 14],
          [centre, endY],
        ],
        'next',
        false,
      ),
    );
  }
  return { svg, bottom: endY + 24 };
}

/** Lays out one States map; `top` adds the Start and End markers of the whole machine. */
export function layoutGraph(machine: AslMachine, top: boolean): GraphLayout {
  const { order, edges, rank, lane } = analyse(machine);
  const states = new Map(order.map((name) => [name, measure(name, machine.States[name]!)]));
  for (const s of states.values())
    Object.assign(s, { rank: rank.get(s.name) ?? 0, lane: lane.get(s.name) ?? 0 });
  const placed = [...states.values()];
  const { centre, bottom } = placeRows(placed, edges, top);
  const catches = catchSvg(edges, states);
  const svg = [
    ...placed.flatMap(boxSvg),
    ...edges.filter((e) => e.kind !== 'catch').flatMap((e) => edgeSvg(e, states, new Map())),
    ...catches.svg,
  ];
  let width = catches.right + MARGIN;
  let height = bottom + MARGIN;
  if (top) {
    const ends = startAndEnd(machine, states, centre, bottom);
    svg.push(...ends.svg);
    height = ends.bottom + MARGIN;
    width = Math.max(width, centre + 40);
  }
  return { width, height, states: placed, edges, svg };
}

function terminal(state: AslState): boolean {
  return state.End === true || state.Type === 'Succeed' || state.Type === 'Fail';
}

function marker(cx: number, cy: number, text: string): string {
  return [
    `<g class="marker">`,
    `<rect x="${r(cx - 30)}" y="${r(cy - 12)}" width="60" height="24" rx="12" fill="#ffffff" stroke="#444" stroke-width="1.2"/>`,
    `<text x="${r(cx)}" y="${r(cy + 4)}" font-size="${DETAIL_SIZE}" text-anchor="middle">${text}</text>`,
    `</g>`,
  ].join('');
}

function edgeSvg(e: Edge, states: Map<string, PlacedState>, bus: Map<string, number>): string[] {
  const from = states.get(e.from);
  const to = states.get(e.to);
  if (!from || !to) return [];
  if (e.kind === 'catch') {
    // Out of the source's right side, down a bus beside the error column, into the target's right side.
    const bx = bus.get(e.to)!;
    const sy = from.y + Math.min(from.height / 2, 24);
    const ty = to.y + to.height / 2;
    const tr = to.x + to.width;
    return [
      path(
        [
          [from.x + from.width, sy],
          [bx, sy],
          [bx, ty],
          [tr, ty],
        ],
        'catch',
        false,
      ),
    ];
  }
  if (e.back) {
    // A loop: out of the source's left side, up beside the graph, into the target's left side.
    // Left of every state the loop passes, so it never crosses one.
    const passed = [...states.values()].filter((s) => s.rank >= to.rank && s.rank <= from.rank);
    const lx = Math.min(...passed.map((s) => s.x)) - 16;
    const sy = from.y + from.height / 2;
    const ty = to.y + to.height / 2;
    return [
      path(
        [
          [from.x, sy],
          [lx, sy],
          [lx, ty],
          [to.x, ty],
        ],
        e.kind,
        true,
      ),
      label(lx - 4, (sy + ty) / 2, e.label ?? '', 'end', e.kind),
    ];
  }
  const sx = from.x + from.width / 2;
  const tx = to.x + to.width / 2;
  const sb = from.y + from.height;
  const points: Array<[number, number]> =
    Math.abs(sx - tx) < 1
      ? [
          [sx, sb],
          [tx, to.y],
        ]
      : [
          [sx, sb],
          [sx, sb + ROW_GAP / 2],
          [tx, sb + ROW_GAP / 2],
          [tx, to.y],
        ];
  const out = [path(points, e.kind, false)];
  if (e.label) out.push(label(tx + 6, to.y - 6, e.label, 'start', e.kind));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The document

const LEGEND: Array<[string, string]> = [
  ['next', 'next state'],
  ['choice', 'Choice rule (labelled)'],
  ['catch', 'Catch: where an error goes'],
];

/** The whole picture: title, graph, legend. Same definition, same bytes. */
export function renderStateMachineSvg(definition: object, title = 'Penetrator workflow'): string {
  const machine = definition as AslMachine;
  if (typeof machine.StartAt !== 'string' || !machine.States || typeof machine.States !== 'object') {
    throw new Error('render-state-machine: expected a definition with StartAt and States');
  }
  const graph = layoutGraph(machine, true);
  const headerH = 34;
  const legendH = 40;
  const width = Math.max(graph.width, 620);
  const height = headerH + graph.height + legendH;
  const legendY = headerH + graph.height + 14;
  const legend = LEGEND.flatMap(([kind, text], i) => {
    const x = MARGIN + i * 200;
    return [
      path(
        [
          [x, legendY],
          [x + 36, legendY],
        ],
        kind as EdgeKind,
        false,
      ),
      `<text x="${x + 44}" y="${legendY + 4}" font-size="${DETAIL_SIZE}">${escapeXml(text)}</text>`,
    ];
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${r(width)}" height="${r(height)}" viewBox="0 0 ${r(width)} ${r(height)}" font-family="${FONT}">`,
    '<defs>',
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>',
    '<marker id="arrow-catch" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker>',
    '</defs>',
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${MARGIN + textWidth(title, 15, true) + 12}" y="24" font-size="${DETAIL_SIZE}" fill="#777">generated from the synthesized definition by scripts/render-state-machine.ts</text>`,
    `<g transform="translate(0,${headerH})">`,
    ...graph.svg,
    '</g>',
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

export const SVG_PATH = fileURLToPath(new URL('../docs/state-machine.svg', import.meta.url));

async function main(): Promise<void> {
  const { loadSynthesizedDefinition } = await import('../cli/local/definition');
  const svg = renderStateMachineSvg(await loadSynthesizedDefinition());
  writeFileSync(SVG_PATH, svg);
  process.stdout.write(`wrote ${SVG_PATH}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`render-state-machine: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
