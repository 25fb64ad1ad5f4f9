/** The task's outcome in the original's status shape, with a message for people. */
import type { NodeResult, TaskSummary } from './contracts';

/** Every node's result, and the machines skipped because they already carried the task label. */
export interface SummaryInput {
  results: readonly NodeResult[];
  skipped: ReadonlyArray<{ name: string; ip: string }>;
}

/** NodeResult.reason is one line of at most 256 characters (contracts.ts). */
export const MAX_REASON_LENGTH = 256;
/** The message lists failures until it reaches this length, then says how many more there are. */
const MESSAGE_BUDGET = 1500;

function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/**
 * One readable line from a Step Functions Cause: Lambda failures arrive as the JSON string
 * `{"errorType","errorMessage","trace"}`, other failures as plain text. The trace is dropped.
 */
export function extractReason(cause: string | undefined): string {
  const text = cause ?? '';
  const line = (lambdaErrorMessage(text) ?? text).replace(/\s+/g, ' ').trim();
  return cut(line === '' ? 'unknown error' : line, MAX_REASON_LENGTH);
}

/** errorMessage (or errorType) of a Lambda error payload; undefined for anything else. */
function lambdaErrorMessage(text: string): string | undefined {
  if (!text.trim().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { errorMessage, errorType } = parsed as Record<string, unknown>;
  if (typeof errorMessage === 'string' && errorMessage.trim() !== '') return errorMessage;
  return typeof errorType === 'string' ? errorType : undefined;
}

function reasonOf(result: NodeResult): string {
  const reason = extractReason(result.reason ?? result.error);
  // Errors name their node for the console's per-state view; the summary names it already.
  const prefix = `node ${result.name} (${result.ip}): `;
  return reason.startsWith(prefix) ? reason.slice(prefix.length) : reason;
}

export function summarize(input: SummaryInput): TaskSummary {
  const failedResults = input.results.filter((r) => r.state !== 'installed');
  const installed = input.results.length - failedResults.length;
  const skipped = input.skipped.length;
  const total = input.results.length + skipped;
  const failures = failedResults.map((r) => ({ name: r.name, ip: r.ip, reason: reasonOf(r) }));
  const nodeStatus: Record<string, string> = {};
  for (const f of failures) nodeStatus[f.name] = f.ip;
  return {
    nodetaskStatus: failures.length === 0 ? 'ready' : 'creating',
    nodeStatus,
    installed,
    failed: failures.length,
    skipped,
    failures,
    message:
      failures.length === 0 ? successMessage(total, installed, skipped) : failureMessage(total, failures),
  };
}

function successMessage(total: number, installed: number, skipped: number): string {
  const nodes = total === 1 ? 'node' : 'nodes';
  if (skipped === 0) return `all ${total} ${nodes} installed`;
  return `all ${total} ${nodes} installed (${installed} in this run, ${skipped} already carried the task label)`;
}

function failureMessage(total: number, failures: TaskSummary['failures']): string {
  const head = `${failures.length} of ${total} ${total === 1 ? 'node' : 'nodes'} failed: `;
  const parts: string[] = [];
  let length = head.length;
  for (const f of failures) {
    const part = `${f.name} (${f.ip}): ${f.reason}`;
    if (parts.length > 0 && length + part.length + 2 > MESSAGE_BUDGET) break;
    parts.push(part);
    length += part.length + 2;
  }
  const rest = failures.length - parts.length;
  return head + parts.join('; ') + (rest > 0 ? `; and ${rest} more` : '');
}
