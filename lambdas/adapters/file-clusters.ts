/** One cluster for local runs: the kubeconfig the CLI was given, registered under one name. */
import { readFile } from 'node:fs/promises';
import { ClusterNotFoundError } from '../errors';
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
}
