/**
 * The object store of local runs: one directory, a key being a relative path in it. The local
 * runner creates the directory for one run and removes it afterwards; its Distributed Map reads and
 * writes the same directory (cli/local/distributed-map.ts).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { TransientError } from '../errors';
import type { ObjectStore } from '../ports';

export class FileObjectStore implements ObjectStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file of a key; a key that would leave the directory is refused. */
  pathOf(key: string): string {
    const path = resolve(this.root, key);
    const inside = relative(this.root, path);
    if (key === '' || inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) {
      throw new Error(`object key ${JSON.stringify(key)} is not a relative path inside the store`);
    }
    return path;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Written aside then renamed, so a reader never sees half an object.
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, JSON.stringify(value), { mode: 0o600 });
    await rename(partial, path);
  }

  async getJson(key: string): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new TransientError(`object ${key} could not be read from ${join(this.root)} (${code})`);
    }
    return JSON.parse(text) as unknown;
  }
}
