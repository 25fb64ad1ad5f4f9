/**
 * Writes the product's RBAC manifests (domain/rbac.ts) with a cluster admin's kubeconfig, and asks
 * the apiserver for a token of the product's ServiceAccount (TokenRequest). Only the CLI's
 * `cluster rbac --apply` and the sandbox use it; the Lambdas never hold rights over RBAC.
 */
import { kubeconfigProblems } from '../domain/kubeconfig';
import type { ManifestObject } from '../domain/rbac';
import { ClusterNotFoundError, RbacRefusedError } from '../errors';
import { KubeHttp, KubeHttpError } from './kube-http';

/** Where each kind of manifest lives in the REST API. */
const PATHS: Record<string, { base: string; resource: string; namespaced: boolean }> = {
  Namespace: { base: '/api/v1', resource: 'namespaces', namespaced: false },
  ServiceAccount: { base: '/api/v1', resource: 'serviceaccounts', namespaced: true },
  Role: { base: '/apis/rbac.authorization.k8s.io/v1', resource: 'roles', namespaced: true },
  RoleBinding: { base: '/apis/rbac.authorization.k8s.io/v1', resource: 'rolebindings', namespaced: true },
  ClusterRole: { base: '/apis/rbac.authorization.k8s.io/v1', resource: 'clusterroles', namespaced: false },
  ClusterRoleBinding: {
    base: '/apis/rbac.authorization.k8s.io/v1',
    resource: 'clusterrolebindings',
    namespaced: false,
  },
};

const CALL_TIMEOUT_MS = 20_000;

function pathOf(object: Pick<ManifestObject, 'kind' | 'metadata'>): string {
  const where = PATHS[object.kind];
  if (where === undefined) throw new Error(`no REST path known for kind ${object.kind}`);
  const scope =
    where.namespaced && object.metadata.namespace !== undefined
      ? `/namespaces/${encodeURIComponent(object.metadata.namespace)}`
      : '';
  return `${where.base}${scope}/${where.resource}/${encodeURIComponent(object.metadata.name)}`;
}

function label(object: Pick<ManifestObject, 'kind' | 'metadata'>): string {
  const ns = object.metadata.namespace === undefined ? '' : `${object.metadata.namespace}/`;
  return `${object.kind} ${ns}${object.metadata.name}`;
}

/** The apiserver's one-line reason; RBAC objects hold no secret, so it may be shown. */
function reasonOf(error: KubeHttpError): string {
  try {
    const message = (JSON.parse(error.body) as { message?: unknown }).message;
    if (typeof message === 'string') return message.replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    // not a Status: the code alone
  }
  return `HTTP ${error.code}`;
}

function withDeadline<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

export interface IssuedToken {
  token: string;
  expiresAt: string;
}

export class RbacWriter {
  constructor(
    private readonly api: KubeHttp,
    /** Registered or given name of the cluster, for messages. */
    readonly cluster: string,
  ) {}

  /**
   * Server-side apply without force: an object of that name whose fields another manager owns (an
   * admin's own Role called `penetrator`, say) is refused with the reason, never taken over.
   */
  async apply(object: ManifestObject): Promise<void> {
    try {
      await withDeadline(
        this.api.call({
          method: 'PATCH',
          path: pathOf(object),
          query: { fieldManager: 'penetrator' },
          body: object,
          contentType: 'application/apply-patch+yaml',
        }),
      );
    } catch (error) {
      if (!(error instanceof KubeHttpError)) throw error;
      if (error.code === 409) {
        throw new RbacRefusedError(
          `cluster ${this.cluster}: ${label(object)} exists and is managed by something else (${reasonOf(error)}); it is left as it is`,
        );
      }
      if (error.code === 401 || error.code === 403) {
        throw new ClusterNotFoundError(
          `cluster ${this.cluster}: cannot apply ${label(object)}: ${reasonOf(error)}; use a cluster admin's kubeconfig`,
        );
      }
      throw new Error(`cluster ${this.cluster}: cannot apply ${label(object)}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
  }

  /** A token of the ServiceAccount, bound to it (deleting the account revokes it), valid `seconds`. */
  async requestToken(namespace: string, name: string, seconds: number): Promise<IssuedToken> {
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`;
    let answer: { status?: { token?: unknown; expirationTimestamp?: unknown } };
    try {
      answer = await withDeadline(
        this.api.call({
          method: 'POST',
          path,
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { expirationSeconds: seconds },
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof KubeHttpError)) throw error;
      throw new Error(
        `cluster ${this.cluster}: cannot request a token of ServiceAccount ${namespace}/${name}: ${reasonOf(error)}`,
        { cause: error },
      );
    }
    const token = answer.status?.token;
    if (typeof token !== 'string' || token === '') {
      throw new Error(`cluster ${this.cluster}: the apiserver answered the TokenRequest without a token`);
    }
    const expiresAt = answer.status?.expirationTimestamp;
    return { token, expiresAt: typeof expiresAt === 'string' ? expiresAt : 'unknown' };
  }
}

/** A writer from an admin's kubeconfig, judged by the same rules as every kubeconfig the product reads. */
export function rbacWriterFromKubeconfig(cluster: string, kubeconfigYaml: string): RbacWriter {
  const problems = kubeconfigProblems(kubeconfigYaml);
  if (problems.length > 0) {
    throw new ClusterNotFoundError(`cluster ${cluster}: the kubeconfig is refused: ${problems.join('; ')}`);
  }
  try {
    return new RbacWriter(KubeHttp.fromKubeconfig(kubeconfigYaml), cluster);
  } catch {
    throw new ClusterNotFoundError(`cluster ${cluster}: the kubeconfig is not a valid kubeconfig`);
  }
}
