/**
 * `penetrator credential put NAME (--password-stdin | --ssh-key FILE | --from-file=KEY=FILE…)
 * [--known-hosts FILE]`: stores an SSH credential in the deployment's Secrets Manager, through the
 * API. `--from-file=passwd=./passwd` and `--from-file=sshkey=./key` take the files the original's
 * `kubectl create secret generic login-secret --from-file=…` takes. A password is never taken from
 * the command line (shell history, `ps`): it is read from stdin, without echo, or from a file.
 */
import type { Command } from 'commander';
import { CREDENTIAL_NAME_RULE, isCredentialName } from '../../lambdas/domain/name-rules';
import { kubeFromKubeconfig } from '../../lambdas/adapters/kube';
import type { Kube } from '../../lambdas/ports';
import { importCredential } from '../../lambdas/use-cases/import-credential';
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
import { clustersFlag, rangesFlag } from '../remote/bounds-flags';
import { readPassword, readTextFile } from '../remote/inputs';

export interface CredentialPutOptions extends RemoteFlags {
  passwordStdin?: boolean;
  sshKey?: string;
  knownHosts?: string;
  /** `KEY=FILE` entries, as kubectl's --from-file takes them: passwd, sshkey, knownHosts. */
  fromFile?: string[];
  /** Registered only to refuse it with a clear message. */
  password?: string;
  /** `NAME,…`: the clusters the credential may be used for (required). */
  clusters?: string;
  /** `CIDR,…`: the machines it may log in to; without it, any address in those clusters. */
  ranges?: string;
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
      .option(
        '--from-file <key=file>',
        'passwd=FILE, sshkey=FILE or knownHosts=FILE, as for kubectl create secret generic (repeatable)',
        (entry: string, all: string[] = []) => [...all, entry],
      )
      .option('--password <value>', 'refused: use --password-stdin')
      .option('--clusters <names>', 'NAME,…: the clusters it may be used for (required)')
      .option('--ranges <cidrs>', 'CIDR,…: the machine addresses it may log in to (default: any)'),
  ).action(async (name: string, options: CredentialPutOptions) => {
    process.exitCode = await putCredential(() => connect(options), name, options, processIo);
  });
  put.exitOverride();
  addExamples(program, put, [
    'penetrator credential put login-secret --clusters prod --password-stdin < password.txt',
    'penetrator credential put login-key --clusters prod,lab --ranges 10.20.0.0/16 --ssh-key ~/.ssh/edge_ed25519',
    'penetrator credential put login-secret --clusters prod --from-file=passwd=./passwd',
  ]);
  const importCommand = withRemoteOptions(
    credential
      .command('import')
      .description(
        "move the original's in-cluster Secret NAME (passwd or sshkey) into the deployment, then delete it from the cluster",
      )
      .argument('<name>', 'the Secret, and the credential name NodeTasks use')
      .requiredOption('--kubeconfig <file>', 'kubeconfig of the cluster holding the Secret')
      .option('--namespace <namespace>', "the Secret's namespace", 'edge-system')
      .option('--clusters <names>', 'NAME,…: the clusters it may be used for (required)')
      .option('--ranges <cidrs>', 'CIDR,…: the machine addresses it may log in to (default: any)'),
  ).action(async (name: string, options: CredentialImportOptions) => {
    const kubeconfig = await readTextFile(options.kubeconfig, 'kubeconfig', MAX_KUBECONFIG_BYTES);
    process.exitCode = await importCredentialCommand(
      () => connect(options),
      kubeFromKubeconfig('source', kubeconfig),
      name,
      options,
      processIo,
    );
  });
  importCommand.exitOverride();
  // Its own help only: the top-level help keeps one examples line per verb.
  importCommand.addHelpText(
    'after',
    '\nExamples:\n  $ penetrator credential import login-secret --clusters prod --kubeconfig admin.kubeconfig\n',
  );
}

export interface CredentialImportOptions extends RemoteFlags {
  kubeconfig: string;
  namespace?: string;
  clusters?: string;
  ranges?: string;
}

/** The bounds of `--clusters`/`--ranges`, as the request body carries them. */
function boundsOf(name: string, options: Pick<CredentialPutOptions, 'clusters' | 'ranges'>) {
  const ranges = rangesFlag('--ranges', options.ranges);
  return { clusters: clustersFlag(options.clusters, name), ...(ranges ? { ranges } : {}) };
}

const MAX_KUBECONFIG_BYTES = 1024 * 1024;

export async function importCredentialCommand(
  client: ClientSource,
  kube: Kube,
  name: string,
  options: Pick<CredentialImportOptions, 'namespace' | 'clusters' | 'ranges'>,
  io: RemoteIo,
): Promise<number> {
  if (!isCredentialName(name)) {
    throw new CliError(`"${name}" is not a credential name`, EXIT_USAGE, `use ${CREDENTIAL_NAME_RULE}`);
  }
  const bounds = boundsOf(name, options);
  const result = await importCredential(
    kube,
    (credentialName, credential) =>
      clientFrom(client).putCredential(credentialName, { ...credential, ...bounds }),
    { name, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) },
  );
  io.stdout(`credential/${name} stored (${result.kind}) from secret ${result.secret}\n`);
  if (result.inCluster === 'kept') {
    io.stderr(
      `secret ${result.secret} changed while it was imported: it was kept; check it and delete it yourself\n`,
    );
    return 1;
  }
  io.stdout(`secret ${result.secret} ${result.inCluster === 'deleted' ? 'deleted' : 'was already gone'}\n`);
  return 0;
}

const FROM_FILE_KEYS = ['passwd', 'sshkey', 'knownHosts'] as const;
type FromFileKey = (typeof FROM_FILE_KEYS)[number];

/** `--from-file` entries by key; an unknown or repeated key is refused naming it. */
function fromFiles(entries: readonly string[]): Partial<Record<FromFileKey, string>> {
  const files: Partial<Record<FromFileKey, string>> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    const key = entry.slice(0, Math.max(equals, 0));
    const file = entry.slice(equals + 1);
    if (equals <= 0 || file === '' || !(FROM_FILE_KEYS as readonly string[]).includes(key)) {
      throw new CliError(
        `--from-file ${JSON.stringify(entry.slice(0, 80))} is not KEY=FILE with KEY passwd, sshkey or knownHosts`,
        EXIT_USAGE,
        'e.g. --from-file=passwd=./passwd or --from-file=sshkey=./id_ed25519',
      );
    }
    if (files[key as FromFileKey] !== undefined) {
      throw new CliError(`--from-file gives ${key} twice`, EXIT_USAGE);
    }
    files[key as FromFileKey] = file;
  }
  return files;
}

/**
 * A password file as `echo secret > passwd` writes it: the one line break at the end is not part
 * of the password.
 */
async function readPasswordFile(path: string): Promise<string> {
  const text = (await readTextFile(path, 'password file', MAX_FILE_BYTES)).replace(/\r?\n$/, '');
  if (text === '') throw new CliError(`${path} is empty`, EXIT_USAGE, 'the file must hold the password');
  return text;
}

/** The options with `--from-file` entries folded into the flags they stand for. */
function withFromFiles(options: CredentialPutOptions): CredentialPutOptions & { passwordFile?: string } {
  const files = fromFiles(options.fromFile ?? []);
  const twice = (['sshkey', 'knownHosts'] as const).find(
    (key) => files[key] !== undefined && options[key === 'sshkey' ? 'sshKey' : 'knownHosts'] !== undefined,
  );
  if (twice !== undefined)
    throw new CliError(`${twice} is given both by --from-file and by its own flag`, EXIT_USAGE);
  return {
    ...options,
    ...(files.sshkey !== undefined ? { sshKey: files.sshkey } : {}),
    ...(files.knownHosts !== undefined ? { knownHosts: files.knownHosts } : {}),
    ...(files.passwd !== undefined ? { passwordFile: files.passwd } : {}),
  };
}

function refuseCommandLinePassword(options: Pick<CredentialPutOptions, 'password'>): void {
  if (options.password !== undefined) {
    throw new CliError(
      'a password on the command line is refused: it would stay in shell history and process lists',
      EXIT_USAGE,
      'use --password-stdin and type it, or pipe it in',
    );
  }
}

/** The request body for these options; reads the secret from where the options say. */
export async function credentialBody(
  given: CredentialPutOptions,
  readSecret: () => Promise<string> = () => readPassword(),
): Promise<CredentialBody> {
  const options = withFromFiles(given);
  refuseCommandLinePassword(options);
  const sources = [options.passwordStdin, options.passwordFile, options.sshKey].filter(Boolean).length;
  if (sources !== 1) {
    throw new CliError(
      'give exactly one of --password-stdin, --ssh-key, --from-file=passwd=FILE and --from-file=sshkey=FILE',
      EXIT_USAGE,
    );
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
  return {
    passwd:
      options.passwordFile !== undefined ? await readPasswordFile(options.passwordFile) : await readSecret(),
    ...(knownHosts ? { knownHosts } : {}),
  };
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
  refuseCommandLinePassword(options);
  const bounds = boundsOf(name, options);
  const body = await credentialBody(options, readSecret);
  await clientFrom(client).putCredential(name, { ...body, ...bounds });
  const kind = `${'sshkey' in body ? 'private key' : 'password'}${body.knownHosts ? ', known hosts' : ''}`;
  const where = `clusters ${bounds.clusters.join(', ')}${bounds.ranges ? `; ranges ${bounds.ranges.join(', ')}` : ''}`;
  io.stdout(`credential/${name} stored (${kind}) for ${where}\n`);
  return 0;
}
