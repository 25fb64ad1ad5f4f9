/**
 * API Gateway REST proxy events in, JSON responses out, and the product's errors as HTTP statuses.
 * Nothing here logs or echoes a request body: bodies may hold passwords, keys and kubeconfigs.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  ClusterBusyError,
  ErrorNames,
  InvalidNodeTaskError,
  PenetratorError,
  type ErrorName,
} from '../errors';
import type { ErrorBody } from './schemas';

export interface ApiRequest {
  method: string;
  /** The API Gateway resource, e.g. `/tasks/{name}`. */
  resource: string;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The body as text (base64 bodies decoded); empty when there is none. */
  body: string;
  requestId: string;
  /** The IAM identity that signed the request, for the logs. */
  caller?: string;
}

function defined(map: Record<string, string | undefined> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

export function parseEvent(event: APIGatewayProxyEvent): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(defined(event.headers))) headers[key.toLowerCase()] = value;
  const raw = event.body ?? '';
  const request: ApiRequest = {
    method: event.httpMethod.toUpperCase(),
    resource: event.resource,
    pathParameters: defined(event.pathParameters),
    query: defined(event.queryStringParameters),
    headers,
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
    requestId: event.requestContext?.requestId ?? '',
  };
  const caller = event.requestContext?.identity?.userArn;
  if (caller) request.caller = caller;
  return request;
}

/** The media type of the body, lower-case, without parameters (`; charset=utf-8`). */
export function mediaType(request: ApiRequest): string | undefined {
  const value = request.headers['content-type'];
  if (value === undefined) return undefined;
  return value.split(';')[0]!.trim().toLowerCase() || undefined;
}

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...SECURITY_HEADERS },
    body: JSON.stringify(body),
  };
}

export function noContent(): APIGatewayProxyResult {
  return { statusCode: 204, headers: { ...SECURITY_HEADERS }, body: '' };
}

export type ErrorStatus = 400 | 404 | 409 | 413;

/**
 * The HTTP status of each typed error the use-cases throw: the one place an error becomes a status.
 * A retryable error not listed is a 500 with a "try again" hint; anything else is a bare 500.
 */
export const STATUS_BY_ERROR: Partial<Record<ErrorName, ErrorStatus>> = {
  [ErrorNames.InvalidNodeTask]: 400,
  [ErrorNames.RequestInvalid]: 400,
  [ErrorNames.CredentialInvalid]: 400,
  [ErrorNames.ClusterNotFound]: 404,
  [ErrorNames.TaskNotFound]: 404,
  [ErrorNames.TaskConflict]: 409,
  [ErrorNames.ClusterBusy]: 409,
  [ErrorNames.ClusterExists]: 409,
  [ErrorNames.InputTooLarge]: 413,
};

/** A 404 for a request no route serves (API Gateway only forwards known routes: a wiring bug). */
export function noRouteResponse(method: string, resource: string): APIGatewayProxyResult {
  return json(404, { message: `no route ${method} ${resource}` });
}

/** The caller's next step is the running task: named in a field, so a client can act on it. */
function busyResponse(error: ClusterBusyError): APIGatewayProxyResult {
  return json(409, {
    message: `cluster ${error.cluster} is busy: task ${error.holder} is running`,
    runningTask: error.holder,
    hint: `wait for it to end, or cancel it with DELETE /tasks/${error.holder}?cluster=${error.cluster}`,
  });
}

/** The optional fields a typed error may carry for the caller: what to do, and every problem. */
function callerFields(error: PenetratorError): Pick<ErrorBody, 'hint'> & { problems?: string[] } {
  const { hint, problems } = error as { hint?: unknown; problems?: unknown };
  return {
    ...(typeof hint === 'string' && hint !== '' ? { hint } : {}),
    ...(Array.isArray(problems) ? { problems: problems.map(String) } : {}),
  };
}

function typedErrorResponse(error: PenetratorError): APIGatewayProxyResult | undefined {
  if (error instanceof ClusterBusyError) return busyResponse(error);
  // The document's problems are the body; the message would repeat them.
  if (error instanceof InvalidNodeTaskError) {
    return json(400, { message: 'invalid NodeTask', problems: [...error.problems] });
  }
  const status = STATUS_BY_ERROR[error.name];
  if (status !== undefined) return json(status, { message: error.message, ...callerFields(error) });
  if (error.retryable) {
    return json(500, { message: error.message, hint: 'a dependency failed transiently; try again' });
  }
  return undefined;
}

/** Any thrown value as the response the client gets. Unexpected errors say only where to look. */
export function errorResponse(error: unknown, requestId: string): APIGatewayProxyResult {
  // A store that refuses the write for now (a secret scheduled for deletion): the caller can act on it.
  if (error instanceof Error && (error as { conflict?: unknown }).conflict === true) {
    return json(409, { message: error.message });
  }
  if (error instanceof PenetratorError) {
    const known = typedErrorResponse(error);
    if (known !== undefined) return known;
  }
  return json(500, {
    message: 'internal error',
    hint: `the API's logs hold the details under request id ${requestId || '(none)'}`,
  });
}
