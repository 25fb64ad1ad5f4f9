/** One cluster for local runs: the kubeconfig the CLI was given, registered under one name. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterNotFoundError } from '../errors';
import type { DirectRanges } from '../domain/credential-bounds';
import type { ClusterDirectory } from '../ports';

export const LOCAL_CLUSTER_NAME = 'local';

export class SingleClusterDirectory implements ClusterDirectory {
  constructor(
    private readonly kubeconfigYaml: string,
    private readonly name: string = LOCAL_CLUSTER_NAME,
  ) {}

  list(): Promise<string[]> {
    return Promise.resolve([this.name]);
  }

  kubeconfig(name: string): Promise<string> {
    if (name !== this.name) {
      return Promise.reject(
        new ClusterNotFoundError(
          `cluster ${name} is not registered; this run knows only cluster ${this.name}`,
        ),
      );
    }
    return Promise.resolve(this.kubeconfigYaml);
  }
  /** A local run's kubeconfig is the operator's own choice for that run: direct mode is not bounded. */
  async directRanges(name: string): Promise<DirectRanges> {
    await this.kubeconfig(name);
    return 'unbounded';
  }
}

/** Reads a kubeconfig file; a missing or unreadable file is ClusterNotFound (its content is never quoted). */
export async function clusterFromKubeconfigFile(
  path: string,
  name: string = LOCAL_CLUSTER_NAME,
): Promise<SingleClusterDirectory> {
  try {
    return new SingleClusterDirectory(await readFile(path, 'utf8'), name);
  } catch (error) {
    throw new ClusterNotFoundError(
      `cluster ${name}: kubeconfig ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Several clusters by name, for local runs that serve more than one (as one deployment does). */
export class NamedClusterDirectory implements ClusterDirectory {
  private readonly kubeconfigs: ReadonlyMap<string, string>;

  constructor(kubeconfigs: Record<string, string>) {
    this.kubeconfigs = new Map(Object.entries(kubeconfigs));
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.kubeconfigs.keys()].sort());
  }

  kubeconfig(name: string): Promise<string> {
    const yaml = this.kubeconfigs.get(name);
    if (yaml === undefined) {
      return Promise.reject(
        new ClusterNotFoundError(
          `cluster ${name} is not registered; registered: ${[...this.kubeconfigs.keys()].sort().join(', ')}`,
        ),
      );
    }
    return Promise.resolve(yaml);
  }
  /** A local run's kubeconfig is the operator's own choice for that run: direct mode is not bounded. */
  async directRanges(name: string): Promise<DirectRanges> {
    await this.kubeconfig(name);
    return 'unbounded';
  }
}

const CLUSTER_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Clusters as files of one directory, each named after its cluster and holding its kubeconfig: how
 * the local runner hands clusters to the bundled Lambdas (they run in processes of their own).
 */
export class KubeconfigDirectory implements ClusterDirectory {
  constructor(private readonly dir: string) {}

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((name) => CLUSTER_FILE_NAME.test(name)).sort();
  }

  async kubeconfig(name: string): Promise<string> {
    // A name is a file name here: nothing that could step out of the directory.
    if (!CLUSTER_FILE_NAME.test(name)) {
      throw new ClusterNotFoundError(`cluster ${JSON.stringify(name.slice(0, 100))} is not a cluster name`);
    }
    try {
      return await readFile(join(this.dir, name), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new ClusterNotFoundError(
          `cluster ${name} is not registered; registered: ${(await this.list()).join(', ')}`,
        );
      }
      throw new ClusterNotFoundError(`cluster ${name}: its kubeconfig cannot be read (${code ?? 'error'})`);
    }
  }
  /** A local run's kubeconfig is the operator's own choice for that run: direct mode is not bounded. */
  async directRanges(name: string): Promise<DirectRanges> {
    await this.kubeconfig(name);
    return 'unbounded';
  }
}
