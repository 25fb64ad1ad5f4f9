/**
 * SSH credentials from local files, for local runs: the CLI's `--credential` path is either one
 * file used for every credential name, or a directory holding `<name>` (optionally with a .yaml,
 * .yml, .json, .pem or .key extension). A file is YAML/JSON with passwd or sshkey (and optionally
 * knownHosts, and the clusters and ranges it may be used for), or a PEM private key.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isCredentialName } from '../domain/name-rules';
import { CredentialInvalidError } from '../errors';
import { boundsFromFields, type RecordedBounds } from '../domain/credential-bounds';
import type { CredentialStore, SshCredential } from '../ports';
import { parseCredential } from './credential-shape';

const EXTENSIONS = ['', '.yaml', '.yml', '.json', '.pem', '.key'];
/** A credential is a few KiB; refuse anything that is clearly not one before reading it. */
const MAX_CREDENTIAL_BYTES = 256 * 1024;

/**
 * A bare PEM file: the key's header opens it. A YAML file holding the key under `sshkey: |` also
 * contains the header, indented; that one is YAML, not a key.
 */
function isPrivateKey(text: string): boolean {
  return /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text.trimStart());
}

/** Parses a credential file's text; `where` names it in messages (the text never appears). */
export function parseCredentialText(name: string, where: string, text: string): SshCredential {
  if (isPrivateKey(text)) {
    const key = text.trimStart();
    return { sshkey: key.endsWith('\n') ? key : `${key}\n` };
  }
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 10 });
  } catch {
    throw new CredentialInvalidError(
      `credential ${name} (${where}) is neither YAML/JSON nor a PEM private key`,
    );
  }
  return parseCredential(name, where, value);
}

async function kindOf(path: string): Promise<'file' | 'directory' | 'absent'> {
  try {
    const info = await stat(path);
    return info.isDirectory() ? 'directory' : 'file';
  } catch {
    return 'absent';
  }
}

export class FileCredentials implements CredentialStore {
  constructor(private readonly path: string) {}

  private async locate(name: string): Promise<string> {
    const kind = await kindOf(this.path);
    if (kind === 'file') return this.path;
    if (kind === 'absent')
      throw new CredentialInvalidError(`credential ${name}: ${this.path} does not exist`);
    if (!isCredentialName(name))
      throw new CredentialInvalidError(`credential ${JSON.stringify(name)} is not a valid credential name`);
    for (const extension of EXTENSIONS) {
      const candidate = join(this.path, `${name}${extension}`);
      if ((await kindOf(candidate)) === 'file') return candidate;
    }
    throw new CredentialInvalidError(
      `credential ${name} does not exist: no file ${name}[.yaml|.yml|.json|.pem|.key] in ${this.path}`,
    );
  }

  /** The file's text, after its size is checked; never quoted in a message. */
  private async read(name: string): Promise<{ file: string; text: string }> {
    const file = await this.locate(name);
    const info = await stat(file);
    if (info.size > MAX_CREDENTIAL_BYTES) {
      throw new CredentialInvalidError(
        `credential ${name} (${file}) is larger than ${MAX_CREDENTIAL_BYTES} bytes; expected a key or a small YAML file`,
      );
    }
    try {
      return { file, text: await readFile(file, 'utf8') };
    } catch (error) {
      throw new CredentialInvalidError(
        `credential ${name} (${file}) cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }

  async get(name: string): Promise<SshCredential> {
    const { file, text } = await this.read(name);
    return parseCredentialText(name, file, text);
  }

  /**
   * The file's `clusters` and `ranges`, enforced as the deployment enforces a secret's tags. A file
   * that names no clusters (a bare PEM key included) serves the run it is handed to: the operator
   * chose it for that run on the command line (ADR 0016).
   */
  async bounds(name: string): Promise<RecordedBounds> {
    const { file, text } = await this.read(name);
    if (isPrivateKey(text)) return 'unbounded';
    parseCredentialText(name, file, text);
    const fields = parse(text, { maxAliasCount: 10 }) as Record<string, unknown>;
    const read = boundsFromFields(fields);
    if (read.problems.length > 0) {
      throw new CredentialInvalidError(`credential ${name} (${file}): ${read.problems.join('; ')}`);
    }
    return read.bounds ?? 'unbounded';
  }
}
