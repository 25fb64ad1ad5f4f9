/**
 * What every remote verb shares: the flags that say where the API is, and the client built from them
 * with the caller's AWS credentials (the SDK's default chain: environment, profile, SSO, role).
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient } from './api-client';
import { resolveTarget } from './endpoint';

export interface RemoteFlags {
  endpoint?: string;
  region?: string;
  requestTimeout?: number;
}

/** Where a verb writes; tests collect it. */
export interface RemoteIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now: () => Date;
}

export const processIo: RemoteIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => new Date(),
};

function positiveSeconds(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${flag} takes a number of seconds > 0; received "${value}"`);
    }
    return n;
  };
}

export { positiveSeconds };

/** Adds --endpoint, --region and --request-timeout to a remote verb. */
export function withRemoteOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'the Penetrator API (stack output ApiUrl); default: $PENETRATOR_ENDPOINT')
    .option(
      '--region <region>',
      'AWS region that signs requests; default: $AWS_REGION, else the endpoint host',
    )
    .option(
      '--request-timeout <seconds>',
      'deadline of one API request',
      positiveSeconds('--request-timeout'),
      30,
    );
}

/**
 * A client, or how to make one: verbs that check local input first take the maker and call it only
 * once the input is good, so a typo is reported before a missing endpoint or credentials.
 */
export type ClientSource = ApiClient | (() => ApiClient);

export function clientFrom(source: ClientSource): ApiClient {
  return typeof source === 'function' ? source() : source;
}

/** The API client for these flags, signing with the default AWS credential chain. */
export function connect(flags: RemoteFlags, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const target = resolveTarget(flags, env);
  return new ApiClient({
    ...target,
    // Resolved on the first request, so --help and flag errors never touch the credential chain.
    credentials: defaultCredentials(),
    timeoutMs: (flags.requestTimeout ?? 30) * 1000,
  });
}

/**
 * The SDK's default credential chain, loaded on the first request: it is most of the AWS SDK, and the
 * verbs that never send one (help, flag errors, local checks) should not pay for loading it.
 */
function defaultCredentials(): AwsCredentialIdentityProvider {
  let chain: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (options): Promise<AwsCredentialIdentity> => {
    chain ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider());
    return (await chain)(options);
  };
}
