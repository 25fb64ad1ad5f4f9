import type { APIGatewayProxyEvent } from 'aws-lambda';

/** An API Gateway REST proxy event as API Gateway builds it for an IAM-signed request. */
export function apiEvent(
  method: string,
  resource: string,
  options: {
    path?: Record<string, string>;
    query?: Record<string, string>;
    body?: string;
    contentType?: string;
    base64?: boolean;
  } = {},
): APIGatewayProxyEvent {
  const path = Object.entries(options.path ?? {}).reduce(
    (p, [key, value]) => p.replace(`{${key}}`, encodeURIComponent(value)),
    resource,
  );
  return {
    httpMethod: method,
    resource,
    path,
    pathParameters: options.path ?? null,
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: null,
    headers: options.contentType ? { 'Content-Type': options.contentType } : {},
    multiValueHeaders: {},
    body:
      options.body === undefined
        ? null
        : options.base64
          ? Buffer.from(options.body).toString('base64')
          : options.body,
    isBase64Encoded: options.base64 ?? false,
    stageVariables: null,
    requestContext: {
      requestId: 'req-1',
      identity: { userArn: 'arn:aws:iam::123456789012:user/operator' },
    } as APIGatewayProxyEvent['requestContext'],
  };
}
