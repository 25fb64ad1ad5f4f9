/**
 * Draws the deployed state machine (docs/state-machine.svg) from the definition the CDK stack
 * synthesizes, so the picture in the docs cannot drift from the workflow: a test compares the
 * checked-in file with a fresh render. `npm run docs:state-machine` rewrites it.
 *
 * This file only says what to draw, as Graphviz DOT: one box per state with what it runs and how it
 * retries, a Map's item processor and a Parallel's branches as nested clusters, Catch edges dashed,
 * Choice edges labelled with their rule. Graphviz (its WebAssembly build) does the layout.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Graphviz } from '@hpcc-js/wasm-graphviz';

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
export interface ChoiceRule {
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

const FONT = 'Helvetica,Arial,sans-serif';
const TITLE = 'Penetrator workflow';
const SUBTITLE = 'generated from the synthesized definition by scripts/render-state-machine.ts';

/** Fill and border per state type. */
const COLOURS: Record<string, [fill: string, border: string]> = {
  Task: ['#e8f1fb', '#4a7ab5'],
  Choice: ['#fff6dd', '#c9a227'],
  Wait: ['#eef7ee', '#5f9a5f'],
  Pass: ['#f4f4f4', '#888888'],
  Succeed: ['#e3f6e3', '#3c8c3c'],
  Fail: ['#fbe4e4', '#c0392b'],
  Map: ['#fbfbfb', '#555555'],
  Parallel: ['#f3f7fc', '#4a7ab5'],
};

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

/** Per Retry rule, how (`retry ×4, backoff ×2, jitter`) and on what (`on Transient, Lambda.*`). */
function retryLines(state: AslState): string[] {
  return (state.Retry ?? []).flatMap((rule) => {
    const jitter = rule.JitterStrategy === 'FULL' ? ', jitter' : '';
    const backoff = rule.BackoffRate && rule.BackoffRate !== 1 ? `, backoff ×${rule.BackoffRate}` : '';
    return [`retry ×${rule.MaxAttempts ?? 3}${backoff}${jitter}`, `on ${errorList(rule.ErrorEquals)}`];
  });
}

/** The grey line under a state's name: what kind of state, and what it runs. */
const DETAIL: Record<string, (state: AslState) => string> = {
  Task: (state) => {
    const fn = lambdaName(state);
    return fn ? `Lambda · ${fn}` : `Task · ${state.Resource ?? ''}`;
  },
  Wait: (state) => `Wait · ${state.SecondsPath ?? `${state.Seconds ?? '?'} s`}`,
  Fail: (state) => `Fail · ${state.Error ?? (state.ErrorPath ? `error from ${state.ErrorPath}` : 'error')}`,
  Map: (state) => {
    const mode = state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'Distributed Map' : 'Map';
    return `${mode} · one iteration per item of ${state.ItemsPath ?? '$'}`;
  },
  Parallel: (state) => {
    const n = state.Branches?.length ?? 0;
    return `Parallel · ${n} branch${n === 1 ? '' : 'es'}`;
  },
};

const OPERATORS: Record<string, string> = {
  Equals: '=',
  LessThan: '<',
  GreaterThan: '>',
  LessThanEquals: '≤',
  GreaterThanEquals: '≥',
  Matches: '~',
};
// Longest first: NumericGreaterThanEquals ends with Equals too.
const OPERATOR_SUFFIXES = Object.keys(OPERATORS).sort((a, b) => b.length - a.length);

/** `{"Variable": "$.summary.failed", "NumericEquals": 0}` → `summary.failed = 0`. */
export function choiceLabel(rule: ChoiceRule): string {
  const variable = (rule.Variable ?? '').replace(/^\$\.?/, '');
  for (const [key, value] of Object.entries(rule)) {
    if (key === 'Next' || key === 'Variable') continue;
    const suffix = OPERATOR_SUFFIXES.find((op) => key.endsWith(op));
    const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
    if (suffix) return `${variable} ${OPERATORS[suffix]} ${shown}`;
    if (key === 'IsPresent') return `${variable} ${value ? 'present' : 'absent'}`;
  }
  return 'rule';
}

// ---------------------------------------------------------------------------------------------
// Writing DOT

/** A double-quoted DOT identifier. */
const id = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Text inside a DOT HTML-like label. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function label(name: string, state: AslState): string {
  const lines = [DETAIL[state.Type]?.(state) ?? state.Type, ...retryLines(state)];
  const details = lines.map((line) => `<br/><font point-size="9" color="#555555">${html(line)}</font>`);
  return `<<b>${html(name)}</b>${details.join('')}>`;
}

const innerMachines = (state: AslState): AslMachine[] => {
  const processor = state.ItemProcessor ?? state.Iterator;
  return processor ? [processor] : (state.Branches ?? []);
};

/**
 * Graphviz joins nodes, not clusters: an edge into a Map or Parallel goes to the first state inside
 * it and one out of it leaves from its last, each clipped at the cluster's border (lhead / ltail).
 */
function entryNode(name: string, machine: AslMachine): string {
  const inner = innerMachines(machine.States[name]!)[0];
  return inner ? entryNode(inner.StartAt, inner) : name;
}

function exitNode(name: string, machine: AslMachine): string {
  const inner = innerMachines(machine.States[name]!)[0];
  if (!inner) return name;
  const names = Object.keys(inner.States);
  const last = names.find((n) => inner.States[n]!.End) ?? names[names.length - 1]!;
  return exitNode(last, inner);
}

const cluster = (name: string): string => id(`cluster ${name}`);

interface EdgeStyle {
  label?: string;
  catch?: boolean;
}

function edge(machine: AslMachine, from: string, to: string, style: EdgeStyle): string {
  const attributes: string[] = [];
  if (innerMachines(machine.States[from]!).length > 0) attributes.push(`ltail=${cluster(from)}`);
  if (innerMachines(machine.States[to]!).length > 0) attributes.push(`lhead=${cluster(to)}`);
  if (style.label) attributes.push(`label=${id(style.label)}`);
  if (style.catch) attributes.push('style=dashed', 'color="#c0392b"', 'fontcolor="#c0392b"');
  const list = attributes.length > 0 ? ` [${attributes.join(', ')}]` : '';
  return `${id(exitNode(from, machine))} -> ${id(entryNode(to, machine))}${list}`;
}

function edgesOf(machine: AslMachine, name: string, state: AslState): string[] {
  const edges: string[] = [];
  if (state.Next) edges.push(edge(machine, name, state.Next, {}));
  for (const rule of state.Choices ?? [])
    edges.push(edge(machine, name, rule.Next, { label: choiceLabel(rule) }));
  if (state.Default) edges.push(edge(machine, name, state.Default, { label: 'otherwise' }));
  for (const rule of state.Catch ?? []) {
    // A Catch into the state's own Next adds nothing to the picture.
    if (rule.Next === state.Next) continue;
    edges.push(
      edge(machine, name, rule.Next, { label: `catch: ${errorList(rule.ErrorEquals)}`, catch: true }),
    );
  }
  return edges;
}

/** The statements of one States map: its states (compound ones as clusters), then its edges. */
function machineStatements(machine: AslMachine, indent: string): string[] {
  const lines: string[] = [];
  for (const [name, state] of Object.entries(machine.States)) {
    const [fill, border] = COLOURS[state.Type] ?? COLOURS.Pass!;
    const inner = innerMachines(state);
    if (inner.length === 0) {
      lines.push(
        `${indent}${id(name)} [label=${label(name, state)}, fillcolor="${fill}", color="${border}"]`,
      );
      continue;
    }
    lines.push(
      `${indent}subgraph ${cluster(name)} {`,
      `${indent}  label=${label(name, state)}; style="rounded,filled"; fillcolor="${fill}"; color="${border}"`,
      ...inner.flatMap((branch) => machineStatements(branch, `${indent}  `)),
      `${indent}}`,
    );
  }
  for (const [name, state] of Object.entries(machine.States)) {
    lines.push(...edgesOf(machine, name, state).map((line) => `${indent}${line}`));
  }
  return lines;
}

function asMachine(definition: object): AslMachine {
  const machine = definition as Partial<AslMachine>;
  if (typeof machine.StartAt !== 'string' || typeof machine.States !== 'object' || machine.States === null) {
    throw new Error('render-state-machine: expected a definition with StartAt and States');
  }
  return machine as AslMachine;
}

/** The workflow as a Graphviz graph; pure, so the same definition always gives the same text. */
export function stateMachineDot(definition: object): string {
  const machine = asMachine(definition);
  return [
    `digraph ${id(TITLE)} {`,
    // Graphviz sizes text from its own metrics for the font; viewers substitute wider fonts for
    // Helvetica often enough that boxes and the page get room to spare (margin, pad).
    `  graph [rankdir=TB, compound=true, nodesep=0.3, ranksep=0.4, pad=0.3, fontname="${FONT}", fontsize=11,`,
    `    labelloc=t, labeljust=l, label=<<b>${html(TITLE)}</b><br/><font point-size="9" color="#777777">${html(SUBTITLE)}</font>>]`,
    `  node [shape=box, style="rounded,filled", fontname="${FONT}", fontsize=11, margin="0.24,0.06"]`,
    `  edge [fontname="${FONT}", fontsize=9, color="#444444", arrowsize=0.7]`,
    `  start [shape=circle, label="", width=0.15, style=filled, fillcolor="#444444", color="#444444"]`,
    `  start -> ${id(entryNode(machine.StartAt, machine))}`,
    ...machineStatements(machine, '  '),
    '}',
    '',
  ].join('\n');
}

/** The picture, laid out by Graphviz. */
export async function renderStateMachineSvg(definition: object): Promise<string> {
  const graphviz = await Graphviz.load();
  return graphviz.dot(stateMachineDot(definition), 'svg');
}

export const SVG_PATH = fileURLToPath(new URL('../docs/state-machine.svg', import.meta.url));

async function main(): Promise<void> {
  // The AWS SDK's notice about Node < 22 (the synthesized app loads it) would only clutter the output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { loadSynthesizedDefinition } = await import('../cli/local/definition');
  writeFileSync(SVG_PATH, await renderStateMachineSvg(await loadSynthesizedDefinition()));
  process.stdout.write(`wrote ${SVG_PATH}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`render-state-machine: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
