/**
 * The product's own identity in a cluster: the shipped RBAC applied with an admin's kubeconfig, and
 * a kubeconfig for the ServiceAccount it binds (`penetrator cluster rbac --apply`, the sandbox).
 * The token comes from the TokenRequest API (docs/adr/0026): bound to the ServiceAccount, so
 * deleting the account revokes it, and expiring, so a leaked copy does not last.
 */
import {
  PRODUCT_NAMESPACE,
  RBAC_NAME,
  currentCluster,
  rbacManifests,
  serviceAccountKubeconfig,
} from '../domain/rbac';
import type { ManifestObject } from '../domain/rbac';
import { parseYamlValue } from '../domain/yaml-text';
import { ClusterNotFoundError } from '../errors';

export interface RbacPort {
  apply(object: ManifestObject): Promise<void>;
  requestToken(
    namespace: string,
    name: string,
    seconds: number,
  ): Promise<{ token: string; expiresAt: string }>;
}

/** One year: a registered kubeconfig should not lapse between tasks; clusters may cap it lower. */
export const DEFAULT_TOKEN_HOURS = 8760;

export interface RbacOptions {
  /** Rule ids left out (tests that show each rule is needed). */
  without?: readonly string[];
  /** Another ServiceAccount than `penetrator`, with its own role names (tests). */
  subjectName?: string;
}

/** Applies every manifest in order; what was applied, as `kind/name` lines in kubectl's words. */
export async function applyProductRbac(port: RbacPort, options: RbacOptions = {}): Promise<string[]> {
  const applied: string[] = [];
  for (const object of rbacManifests(options)) {
    await port.apply(object);
    const ns = object.metadata.namespace === undefined ? '' : ` -n ${object.metadata.namespace}`;
    applied.push(`${object.kind.toLowerCase()}/${object.metadata.name}${ns} applied`);
  }
  return applied;
}

/**
 * A kubeconfig for the ServiceAccount, on the admin kubeconfig's server and CA, as YAML-compatible
 * JSON text. The token is in it: the caller writes it where only its owner reads it.
 */
export async function productKubeconfig(
  port: RbacPort,
  adminKubeconfigYaml: string,
  options: { hours?: number; subjectName?: string } = {},
): Promise<{ kubeconfig: string; expiresAt: string }> {
  const cluster = currentCluster(parseYamlValue(adminKubeconfigYaml, 10));
  if (cluster === undefined) {
    throw new ClusterNotFoundError(
      'the admin kubeconfig names no server with an embedded certificate authority',
    );
  }
  const hours = options.hours ?? DEFAULT_TOKEN_HOURS;
  const name = options.subjectName ?? RBAC_NAME;
  const issued = await port.requestToken(PRODUCT_NAMESPACE, name, hours * 3600);
  const doc = serviceAccountKubeconfig({
    cluster: cluster.name,
    server: cluster.server,
    caData: cluster.caData,
    token: issued.token,
    user: `${PRODUCT_NAMESPACE}:${name}`,
  });
  return { kubeconfig: `${JSON.stringify(doc, null, 2)}\n`, expiresAt: issued.expiresAt };
}
