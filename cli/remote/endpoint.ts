/**
 * Where the API is and which region signs for it: flags first, then the environment, then what the
 * endpoint's own host name says. Pure: tests pass the environment in.
 */
import { CliError, EXIT_USAGE } from '../output';

export const EndpointEnv = {
  endpoint: 'PENETRATOR_ENDPOINT',
  region: 'AWS_REGION',
  defaultRegion: 'AWS_DEFAULT_REGION',
} as const;

/** The stack and output the endpoint comes from after `cdk deploy`. */
export const STACK_OUTPUT_HINT =
  'set --endpoint or PENETRATOR_ENDPOINT to the stack output ApiUrl: aws cloudformation describe-stacks ' +
  '--stack-name Penetrator --query "Stacks[0].Outputs[?OutputKey==\'ApiUrl\'].OutputValue" --output text';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
/** `<api id>.execute-api.<region>.amazonaws.com` (or .com.cn), and the VPC endpoint form. */
const EXECUTE_API_HOST = /\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export interface Target {
  endpoint: URL;
  region: string;
}

/**
 * Validates the endpoint: https, except on loopback (a local server in tests). Plain http elsewhere
 * would send credentials' bodies (a password, a kubeconfig) readable on the wire.
 */
export function parseEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`the API endpoint "${text}" is not a URL`, EXIT_USAGE, STACK_OUTPUT_HINT);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new CliError(
      `the API endpoint must use https: received ${url.protocol}//${url.host}`,
      EXIT_USAGE,
      'plain http is accepted for localhost only',
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new CliError(
      'the API endpoint must be a plain base URL, without credentials, query or fragment',
      EXIT_USAGE,
      STACK_OUTPUT_HINT,
    );
  }
  return url;
}

export function resolveTarget(
  flags: { endpoint?: string; region?: string },
  env: NodeJS.ProcessEnv = process.env,
): Target {
  const text = flags.endpoint ?? nonEmpty(env[EndpointEnv.endpoint]);
  if (text === undefined) {
    throw new CliError('no Penetrator API endpoint given', EXIT_USAGE, STACK_OUTPUT_HINT);
  }
  const endpoint = parseEndpoint(text);
  const region =
    flags.region ??
    nonEmpty(env[EndpointEnv.region]) ??
    nonEmpty(env[EndpointEnv.defaultRegion]) ??
    EXECUTE_API_HOST.exec(endpoint.hostname)?.[1];
  if (region === undefined) {
    throw new CliError(
      `no AWS region for ${endpoint.host}`,
      EXIT_USAGE,
      'pass --region or set AWS_REGION (the region the stack is deployed in)',
    );
  }
  if (!REGION.test(region)) {
    throw new CliError(`"${region}" is not an AWS region name`, EXIT_USAGE, 'use a name like eu-west-1');
  }
  return { endpoint, region };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
