/**
 * A node's failure reason, bounded where it is produced (the per-node Lambdas): it travels in the
 * error's Cause into the node's result, the summary, an Event and the completion event, so it is one
 * line, at most MAX_REASON_LENGTH characters, without a stack, and with anything shaped like secret
 * material replaced. Its size then never depends on what failed.
 */
import { MAX_REASON_LENGTH } from './summary';

/** Shapes of secret material that a tool's output could echo back. */
const SECRET_SHAPES: ReadonlyArray<[RegExp, string]> = [
  // A PEM private key, whole or cut short.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[private key]'],
  // A bootstrap token: <6 of [a-z0-9]>.<16 of [a-z0-9]>.
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '[token]'],
  // password=…, passwd: …, token …, as a program prints a setting.
  [/\b(password|passwd|token|secret)(\s*[=:]\s*|\s+)\S+/gi, '$1$2[redacted]'],
];

export function redactSecrets(text: string): string {
  return SECRET_SHAPES.reduce((out, [shape, replacement]) => out.replace(shape, replacement), text);
}

/** One line (whitespace runs become one space), secrets replaced, cut at MAX_REASON_LENGTH. */
export function boundReason(text: string): string {
  const line = redactSecrets(text).replace(/\s+/g, ' ').trim();
  const chars = [...(line === '' ? 'unknown error' : line)];
  return chars.length > MAX_REASON_LENGTH
    ? `${chars.slice(0, MAX_REASON_LENGTH - 1).join('')}…`
    : chars.join('');
}

/**
 * The same error with a bounded message and a stack of that one line, so the runtime's error
 * report (errorMessage and trace, Step Functions' Cause) stays small whatever was thrown. Its name,
 * which Retry and Catch match, and its other fields are kept.
 */
export function boundError(error: unknown): Error {
  const bounded = error instanceof Error ? error : new Error(String(error));
  bounded.message = boundReason(bounded.message);
  bounded.stack = `${bounded.name}: ${bounded.message}`;
  return bounded;
}
