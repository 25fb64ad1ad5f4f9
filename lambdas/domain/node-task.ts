/**
 * Reading and validating a NodeTask. Pure: no I/O, never throws. Every problem is reported as one
 * line `<field path>: <what is wrong>; <what is expected>`, in a deterministic order, so a user fixes
 * a document in one round trip.
 */
import { isIP } from 'node:net';
import type { core } from 'zod';
import { MAX_PREFIX_LENGTH, type Target } from './names';
import { firstDuplicateKey, parseYamlDocuments } from './yaml-text';
import {
  NODE_TASK_API_VERSION,
  NODE_TASK_KIND,
  isIpAddress,
  nodeTaskSchema,
  show,
  type NodeTaskSpec,
} from './node-task-schema';

export type { NodeTaskSpec } from './node-task-schema';

export interface NodeTask {
  apiVersion: typeof NODE_TASK_API_VERSION;
  kind: typeof NODE_TASK_KIND;
  metadata: { name: string; [k: string]: unknown };
  spec: NodeTaskSpec;
}

export type { Target } from './names';

export type Validation = { ok: true; task: NodeTask; targets: Target[] } | { ok: false; problems: string[] };

/** Larger input is refused before parsing: a real task is a few KiB, 1000 machines about 20 KiB. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** A NodeTask nests 4 levels; anything far deeper is hostile and would strain recursive code. */
const MAX_DEPTH = 32;
/** Aliases are legitimate YAML but expand exponentially (billion laughs); a task needs few. */
const MAX_ALIASES = 100;
/** Beyond this, more lines help nobody and a hostile document could flood a terminal or a response. */
const MAX_PROBLEMS = 100;

function fail(problems: string[]): Validation {
  const unique = [...new Set(problems)];
  if (unique.length <= MAX_PROBLEMS) return { ok: false, problems: unique };
  const shown = unique.slice(0, MAX_PROBLEMS);
  shown.push(`document: ${unique.length - MAX_PROBLEMS} more problems not shown; fix the ones above first`);
  return { ok: false, problems: shown };
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = (text.split('\n')[0] ?? '').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Parses YAML or JSON text holding exactly one NodeTask, then validates it. */
export function parseNodeTaskText(text: string): Validation {
  try {
    const parsed = parseSingleDocument(text);
    return 'problems' in parsed ? fail(parsed.problems) : validateNodeTask(parsed.value);
  } catch (error) {
    return fail([`document: cannot be read (${oneLine(error)}); expected one NodeTask in YAML or JSON`]);
  }
}

function parseSingleDocument(text: string): { value: unknown } | { problems: string[] } {
  if (text.length > MAX_DOCUMENT_BYTES || Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    return { problems: ['document: is larger than 1 MiB; expected one NodeTask of at most 1 MiB'] };
  }
  if (text.includes('\0')) {
    return { problems: ['document: holds binary data (a NUL byte); expected YAML or JSON text'] };
  }
  if (text.trim() === '') return { problems: ['document: is empty; expected one NodeTask in YAML or JSON'] };
  const { documents, lineCounter } = parseYamlDocuments(text);
  if (documents.length === 0) {
    return { problems: ['document: is empty; expected one NodeTask in YAML or JSON'] };
  }
  if (documents.length > 1) {
    return {
      problems: [`document: holds ${documents.length} YAML documents; expected exactly one NodeTask`],
    };
  }
  const document = documents[0]!;
  // Later syntax errors are mostly echoes of the first one; one precise line helps more.
  const firstError = document.errors[0];
  if (firstError) return { problems: [`document: ${yamlError(firstError)}; expected valid YAML or JSON`] };
  const duplicate = firstDuplicateKey(document, lineCounter);
  if (duplicate !== undefined) {
    return { problems: [`document: ${duplicate}: map keys must be unique; expected valid YAML or JSON`] };
  }
  const value: unknown = document.toJS({ maxAliasCount: MAX_ALIASES });
  return { value };
}

/** `Map keys must be unique at line 2, column 1:` → `line 2, column 1: map keys must be unique`. */
function yamlError(error: unknown): string {
  const line = oneLine(error);
  // The parser recurses per nesting level; where it gives up depends on the stack, so say why instead.
  if (line.includes('Maximum call stack size exceeded')) return `nests deeper than ${MAX_DEPTH} levels`;
  const match = /^(.*?) at line (\d+), column (\d+):?$/.exec(line);
  if (!match) return line;
  const [, what = '', row, column] = match;
  return `line ${row}, column ${column}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`;
}

/** Validates a parsed document (for instance an execution's `nodeTask` input). */
export function validateNodeTask(doc: unknown): Validation {
  try {
    return validate(doc);
  } catch (error) {
    return fail([`document: cannot be validated (${oneLine(error)})`]);
  }
}

function validate(doc: unknown): Validation {
  if (!isPlainObject(doc)) {
    return fail([`document: got ${describe(doc)}; expected a NodeTask object`]);
  }
  const shapeProblems = inspectShape(doc);
  if (shapeProblems.length > 0) return fail(shapeProblems);

  const parsed = nodeTaskSchema.safeParse(doc);
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(issueToProblems);
  const spec = isPlainObject(doc.spec) ? doc.spec : undefined;
  if (spec) problems.push(...crossFieldProblems(spec));
  const targets = spec ? collectTargets(spec, problems) : [];
  if (problems.length > 0 || !parsed.success) return fail(problems);
  return { ok: true, task: parsed.data, targets };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Refuses depth beyond MAX_DEPTH and `__proto__` keys anywhere, before any code walks the document
 * recursively or copies its keys into fresh objects. Iterative, so depth itself cannot overflow it.
 */
function inspectShape(root: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const stack: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [
    { value: root, path: [], depth: 0 },
  ];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) {
      return [`${formatPath(path)}: nests deeper than ${MAX_DEPTH} levels; expected a NodeTask`];
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, Array.isArray(value) ? Number(key) : key];
      if (key === '__proto__') problems.push(`${formatPath(childPath)}: this key is not allowed`);
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return problems.sort();
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `spec.targetMachines[1]`, `spec.nodeNamesOverride.edge-a`, `spec.nodeNamesOverride["edge.a"]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return 'document';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key).slice(0, 60))}]`;
  }
  return out;
}

function issueToProblems(issue: core.$ZodIssue): string[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...path, key])}: unknown field`);
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0];
    return [`${formatPath(path)}: ${inner ? inner.message : 'is not a valid key'}`];
  }
  return [`${formatPath(path)}: ${issue.message}`];
}

function has(spec: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(spec, key) && spec[key] !== undefined && spec[key] !== null;
}

/** Rules that span fields; the schema has already judged each field on its own. */
function crossFieldProblems(spec: Record<string, unknown>): string[] {
  return [...machineListProblems(spec), ...proxyProblems(spec)];
}

function machineListProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const machines = has(spec, 'targetMachines');
  if (machines === has(spec, 'nodeNamesOverride')) {
    problems.push(
      `spec: set exactly one of targetMachines or nodeNamesOverride (got ${machines ? 'both' : 'neither'})`,
    );
  }
  if (machines && !has(spec, 'nodeNamePrefix')) {
    problems.push(
      `spec.nodeNamePrefix: missing; required with targetMachines, a DNS-1123 label of at most ${MAX_PREFIX_LENGTH} characters`,
    );
  }
  return problems;
}

/** Proxy mode needs one of proxyNode or proxyNodes; direct mode needs neither. An unknown mode is judged by the schema. */
function proxyProblems(spec: Record<string, unknown>): string[] {
  const mode = spec.mode ?? 'proxy';
  const given = ['proxyNode', 'proxyNodes'].filter((field) => has(spec, field));
  if (mode === 'direct') {
    return given.map((field) => `spec.${field}: not allowed in direct mode; remove it or set mode: proxy`);
  }
  if (mode !== 'proxy') return [];
  if (given.length === 2) return ['spec: set at most one of proxyNode or proxyNodes (got both)'];
  if (given.length === 0) {
    return [
      'spec.proxyNode: missing; required unless mode is direct, the name of an in-cluster node that can reach the targets',
    ];
  }
  return [];
}

/** Lower-case, compressed IPv6; IPv4 as is (node:net only accepts the canonical dotted form). */
export function normaliseIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const host = new URL(`http://[${ip}]/`).hostname;
  return host.slice(1, -1);
}

/**
 * The machines of the task with normalised addresses. targetMachines duplicates are folded (as the
 * original does); one address under two names in nodeNamesOverride is a problem, since a machine can
 * join under one name only. Entries the schema refused are skipped: they are reported already.
 */
function collectTargets(spec: Record<string, unknown>, problems: string[]): Target[] {
  // With both lists the task is already refused; comparing them would only add noise.
  if (has(spec, 'targetMachines') && has(spec, 'nodeNamesOverride')) return [];
  if (Array.isArray(spec.targetMachines)) return foldMachines(spec.targetMachines);
  if (isPlainObject(spec.nodeNamesOverride)) return overrideTargets(spec.nodeNamesOverride, problems);
  return [];
}

function foldMachines(machines: unknown[]): Target[] {
  const seen = new Set<string>();
  const targets: Target[] = [];
  for (const ip of machines) {
    if (typeof ip !== 'string' || !isIpAddress(ip)) continue;
    const normal = normaliseIp(ip);
    if (!seen.has(normal)) targets.push({ ip: normal });
    seen.add(normal);
  }
  return targets;
}

function overrideTargets(override: Record<string, unknown>, problems: string[]): Target[] {
  const firstPath = new Map<string, string>();
  const targets: Target[] = [];
  for (const [name, ip] of Object.entries(override)) {
    if (typeof ip !== 'string' || !isIpAddress(ip)) continue;
    const normal = normaliseIp(ip);
    const path = formatPath(['spec', 'nodeNamesOverride', name]);
    const first = firstPath.get(normal);
    if (first === undefined) {
      firstPath.set(normal, path);
      targets.push({ ip: normal, name });
    } else {
      problems.push(
        `${path}: ${show(ip)} is already listed under ${first}; a machine joins under one name only`,
      );
    }
  }
  return targets;
}
