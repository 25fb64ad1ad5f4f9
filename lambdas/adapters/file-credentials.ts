/**
 * SSH credentials from local files, for local runs: the CLI's `--credential` path is either one
 * file used for every credential name, or a directory holding `<name>` (optionally with a .yaml,
 * .yml, .json, .pem or .key extension). A file is YAML/JSON with passwd or sshkey (and optionally
 * knownHosts), or a PEM private key.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isCredentialName } from '../domain/name-rules';
import { CredentialInvalidError } from '../errors';
import type { RecordedBounds } from '../domain/credential-bounds';
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

  async get(name: string): Promise<SshCredential> {
    const file = await this.locate(name);
    const info = await stat(file);
    if (info.size > MAX_CREDENTIAL_BYTES) {
      throw new CredentialInvalidError(
        `credential ${name} (${file}) is larger than ${MAX_CREDENTIAL_BYTES} bytes; expected a key or a small YAML file`,
      );
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CredentialInvalidError(
        `credential ${name} (${file}) cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    return parseCredentialText(name, file, text);
  }
  /** A local run's credential file is the operator's own choice for that run: it is not bounded. */
  async bounds(name: string): Promise<RecordedBounds> {
    await this.locate(name);
    return 'unbounded';
  }
}
