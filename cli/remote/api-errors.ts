/**
 * Turns an API answer that is not a success into one readable CLI error: what happened, then what to
 * do. The server's own words come first when it sent any; a stack trace never does.
 */
import { CliError, EXIT_FAILURE } from '../output';
import type { ErrorBody } from './api-types';

/** An error answer of the Penetrator API (or of API Gateway in front of it). */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    message: string,
    hint?: string,
    readonly body: ErrorBody = {},
  ) {
    super(message, EXIT_FAILURE, hint);
  }
}

/** API Gateway answers 403 with this message for a path it does not know, signed or not. */
const UNKNOWN_PATH = 'Missing Authentication Token';

/** Reads an error body: the contract's {message, hint?, problems?}, or API Gateway's {Message}. */
export function parseErrorBody(text: string): ErrorBody {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
    const record = value as Record<string, unknown>;
    const message = record.message ?? record.Message;
    return {
      ...(typeof message === 'string' ? { message } : {}),
      ...(typeof record.hint === 'string' ? { hint: record.hint } : {}),
      ...(Array.isArray(record.problems)
        ? { problems: record.problems.filter((p): p is string => typeof p === 'string') }
        : {}),
      ...(typeof record.runningTask === 'string' ? { runningTask: record.runningTask } : {}),
    };
  } catch {
    return {};
  }
}

/** A message is printed on one line; a server's text is cut so a hostile body cannot flood a terminal. */
function clean(text: string | undefined, limit = 500): string | undefined {
  if (text === undefined) return undefined;
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > limit ? `${line.slice(0, limit - 3)}...` : line;
}

/** The error for an answer with this status and body. `what` names the request, e.g. "GET /tasks". */
export function apiError(status: number, body: ErrorBody, what: string): ApiError {
  const message = clean(body.message);
  const serverHint = clean(body.hint);
  switch (status) {
    case 400:
      return invalid(body, message, serverHint);
    case 401:
    case 403:
      return forbidden(status, body, message, what);
    case 404:
      return new ApiError(status, message ?? `not found: ${what}`, serverHint, body);
    case 409:
      return new ApiError(status, message ?? `conflict: ${what}`, serverHint ?? conflictHint(body), body);
    case 429:
      return new ApiError(
        status,
        message ?? 'the API is throttling requests',
        'wait a little and try again',
        body,
      );
    default:
      return failure(status, body, message, serverHint, what);
  }
}

function failure(
  status: number,
  body: ErrorBody,
  message: string | undefined,
  serverHint: string | undefined,
  what: string,
): ApiError {
  const hint =
    serverHint ??
    (status >= 500
      ? 'see the API Lambda logs in CloudWatch; try again if the failure was transient'
      : undefined);
  return new ApiError(
    status,
    `the Penetrator API failed on ${what} (HTTP ${status})${message ? `: ${message}` : ''}`,
    hint,
    body,
  );
}

/** A 400: the message, then each problem (an invalid NodeTask's `<field path>: <what>`) on its own line. */
function invalid(body: ErrorBody, message: string | undefined, hint: string | undefined): ApiError {
  const problems = (body.problems ?? []).slice(0, 100).map((p) => `  ${clean(p, 300) ?? ''}`);
  const head = message ?? 'the request was refused as invalid';
  return new ApiError(400, [head, ...problems].join('\n'), hint, body);
}

function forbidden(status: number, body: ErrorBody, message: string | undefined, what: string): ApiError {
  if (message === UNKNOWN_PATH) {
    return new ApiError(
      status,
      `the API has no route for ${what}`,
      'check --endpoint (or PENETRATOR_ENDPOINT): it must be the stack output ApiUrl, stage included',
      body,
    );
  }
  return new ApiError(
    status,
    `not authorised: check your AWS credentials/role allows execute-api:Invoke${message ? ` (${message})` : ''}`,
    'run `aws sts get-caller-identity` to see who you are; the role needs execute-api:Invoke on the Penetrator API',
    body,
  );
}

function conflictHint(body: ErrorBody): string | undefined {
  if (body.runningTask === undefined) return undefined;
  return `wait for it (penetrator describe nodetask ${body.runningTask}) or cancel it (penetrator delete nodetask ${body.runningTask})`;
}
