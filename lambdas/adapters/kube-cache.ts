/**
 * One Kube client per cluster, reused across invocations of a warm Lambda. Entries expire so a
 * rotated kubeconfig is picked up, and a failed lookup is not cached.
 */
import type { ClusterDirectory, Kube, KubeProvider } from '../ports';
import { kubeFromKubeconfig } from './kube';

export const KUBE_CLIENT_TTL_MS = 5 * 60 * 1000;

export function cachedKubeProvider(
  clusters: ClusterDirectory,
  ttlMs: number = KUBE_CLIENT_TTL_MS,
  clock: () => number = Date.now,
): KubeProvider {
  const cache = new Map<string, { client: Promise<Kube>; expires: number }>();
  return (cluster) => {
    const hit = cache.get(cluster);
    if (hit && hit.expires > clock()) return hit.client;
    const client = clusters.kubeconfig(cluster).then((yaml) => kubeFromKubeconfig(cluster, yaml));
    cache.set(cluster, { client, expires: clock() + ttlMs });
    client.catch(() => cache.delete(cluster));
    return client;
  };
}
