/**
 * `penetrator credential put NAME (--password-stdin | --ssh-key FILE) [--known-hosts FILE]`: stores
 * an SSH credential in the deployment's Secrets Manager, through the API. A password is never taken
 * from the command line (shell history, `ps`): it is read from stdin, without echo on a terminal.
 */
import type { Command } from 'commander';
import { CREDENTIAL_NAME_RULE, isCredentialName } from '../../lambdas/domain/name-rules';
import { CliError, EXIT_USAGE } from '../output';
import type { CredentialBody } from '../remote/api-types';
import {
  clientFrom,
  connect,
  processIo,
  withRemoteOptions,
  type ClientSource,
  type RemoteFlags,
  type RemoteIo,
} from '../remote/connect';
import { addExamples } from '../remote/help';
import { readPassword, readTextFile } from '../remote/inputs';

export interface CredentialPutOptions extends RemoteFlags {
  passwordStdin?: boolean;
  sshKey?: string;
  knownHosts?: string;
  /** Registered only to refuse it with a clear message. */
  password?: string;
}

const MAX_FILE_BYTES = 64 * 1024;

export function register(program: Command): void {
  const credential = program
    .command('credential')
    .description("manage SSH credentials (the NodeTask's sshCredential) in the deployment");
  const put = withRemoteOptions(
    credential
      .command('put')
      .description('store a root password (from stdin) or a private key under NAME; replaces an existing one')
      .argument('<name>', 'the name NodeTasks use in spec.sshCredential')
      .option('--password-stdin', 'read the password from stdin (typed without echo on a terminal)')
      .option('--ssh-key <file>', 'a private key file (PEM/OpenSSH)')
      .option(
        '--known-hosts <file>',
        "the targets' host keys (known_hosts format), so SSH checks them (with either kind of credential)",
      )
      .option('--password <value>', 'refused: use --password-stdin'),
  ).action(async (name: string, options: CredentialPutOptions) => {
    process.exitCode = await putCredential(() => connect(options), name, options, processIo);
  });
  put.exitOverride();
  addExamples(program, put, [
    'penetrator credential put login-secret --password-stdin < password.txt',
    'penetrator credential put login-key --ssh-key ~/.ssh/edge_ed25519 --known-hosts site1_known_hosts',
  ]);
}

/** The request body for these options; reads the secret from where the options say. */
export async function credentialBody(
  options: CredentialPutOptions,
  readSecret: () => Promise<string> = () => readPassword(),
): Promise<CredentialBody> {
  if (options.password !== undefined) {
    throw new CliError(
      'a password on the command line is refused: it would stay in shell history and process lists',
      EXIT_USAGE,
      'use --password-stdin and type it, or pipe it in',
    );
  }
  if (Boolean(options.passwordStdin) === (options.sshKey !== undefined)) {
    throw new CliError('give exactly one of --password-stdin and --ssh-key', EXIT_USAGE);
  }
  const knownHosts =
    options.knownHosts === undefined
      ? undefined
      : await readTextFile(options.knownHosts, 'known hosts file', MAX_FILE_BYTES);
  if (options.sshKey !== undefined) {
    const sshkey = await readTextFile(options.sshKey, 'SSH key', MAX_FILE_BYTES);
    checkPrivateKey(sshkey, options.sshKey);
    return { sshkey, ...(knownHosts ? { knownHosts } : {}) };
  }
  return { passwd: await readSecret(), ...(knownHosts ? { knownHosts } : {}) };
}

/** The most common mistake is handing over the .pub file; its content is never echoed back. */
function checkPrivateKey(text: string, path: string): void {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return;
  const hint = /^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+/.test(text.trim())
    ? 'that is a public key: pass the private key file (without .pub)'
    : 'expected a PEM or OpenSSH private key ("-----BEGIN … PRIVATE KEY-----")';
  throw new CliError(`${path} is not a private key`, EXIT_USAGE, hint);
}

export async function putCredential(
  client: ClientSource,
  name: string,
  options: CredentialPutOptions,
  io: RemoteIo,
  readSecret?: () => Promise<string>,
): Promise<number> {
  // Named in NodeTasks' spec.sshCredential, so held to the same rule.
  if (!isCredentialName(name)) {
    throw new CliError(`"${name}" is not a credential name`, EXIT_USAGE, `use ${CREDENTIAL_NAME_RULE}`);
  }
  const body = await credentialBody(options, readSecret);
  await clientFrom(client).putCredential(name, body);
  const kind = `${'sshkey' in body ? 'private key' : 'password'}${body.knownHosts ? ', known hosts' : ''}`;
  io.stdout(`credential/${name} stored (${kind})\n`);
  return 0;
}
