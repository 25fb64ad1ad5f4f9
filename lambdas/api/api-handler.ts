/**
 * The Lambda side of the API: one request in, one response out, one log line about it (method,
 * route, status, caller, duration — never a body). Errors never escape: API Gateway would answer a
 * bare 502 and the client would learn nothing.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import { asLog, errorFields } from '../observability';
import { errorResponse, noRouteResponse, parseEvent } from './http';
import type { ApiDependencies } from '../ports';
import { findRoute, type RouteGroup } from './router';

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export function apiHandler(
  groups: readonly RouteGroup[],
  logger: Logger,
  dependencies: () => ApiDependencies,
): ApiHandler {
  return async (event) => {
    const started = Date.now();
    const request = parseEvent(event);
    const log = logger.createChild();
    log.appendKeys({
      requestId: request.requestId,
      route: `${request.method} ${request.resource}`,
      ...(request.pathParameters.name ? { name: request.pathParameters.name.slice(0, 100) } : {}),
      ...(request.query.cluster ? { cluster: request.query.cluster.slice(0, 100) } : {}),
      ...(request.caller ? { caller: request.caller } : {}),
    });
    let response: APIGatewayProxyResult;
    try {
      const route = findRoute(groups, request);
      response = route
        ? await route({ ...dependencies(), log: asLog(log) }, request)
        : noRouteResponse(request.method, request.resource);
    } catch (error) {
      response = errorResponse(error, request.requestId);
      const fields = { ...errorFields(error), status: response.statusCode, ms: Date.now() - started };
      if (response.statusCode >= 500) log.error('request failed', fields);
      else log.info('request refused', fields);
      return response;
    }
    log.info('request done', { status: response.statusCode, ms: Date.now() - started });
    return response;
  };
}
