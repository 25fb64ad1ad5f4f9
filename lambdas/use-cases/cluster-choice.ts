/**
 * Which cluster a request is about: the `cluster` query parameter, else spec.cluster, else the
 * deployment's default, else the only registered cluster. Several registered and none named is the
 * caller's to settle (400, listing them).
 */
import { ClusterNotFoundError, RequestInvalidError } from '../errors';
import type { Dependencies } from '../ports';
import { isClusterName } from '../api/schemas';

const REGISTER_HINT = 'register it with PUT /clusters/{name} (penetrator cluster add)';

export async function resolveCluster(
  deps: Pick<Dependencies, 'clusters' | 'settings'>,
  requested: string | undefined,
  fromSpec?: string,
): Promise<string> {
  if (requested !== undefined && !isClusterName(requested)) {
    throw new RequestInvalidError(
      `cluster ${JSON.stringify(requested.slice(0, 80))} is not a cluster name`,
      'expected [A-Za-z0-9._-], at most 63 characters',
    );
  }
  const named = requested ?? fromSpec ?? deps.settings.defaultCluster;
  if (named !== undefined) {
    try {
      // Reading the kubeconfig proves the cluster is registered; the value is dropped at once.
      await deps.clusters.kubeconfig(named);
    } catch (error) {
      if (error instanceof ClusterNotFoundError) throw new ClusterNotFoundError(error.message, REGISTER_HINT);
      throw error;
    }
    return named;
  }
  const names = await deps.clusters.list();
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new ClusterNotFoundError('no cluster is registered', REGISTER_HINT);
  throw new RequestInvalidError(
    `several clusters are registered (${names.join(', ')}); name one`,
    'add ?cluster=<name> to the request, or set spec.cluster in the NodeTask',
  );
}
