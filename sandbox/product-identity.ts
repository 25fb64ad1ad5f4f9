/**
 * The product's identity in a sandbox cluster, as an admin gives it to the product: the shipped RBAC
 * applied with the admin kubeconfig (what `penetrator cluster rbac --apply` does), and a kubeconfig
 * for a ServiceAccount token bound only to it. Tests hand this kubeconfig to the product and keep the
 * admin's for their own setup and assertions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rbacWriterFromKubeconfig } from '../lambdas/adapters/kube-rbac';
import { applyProductRbac, productKubeconfig, type RbacOptions } from '../lambdas/use-cases/product-identity';
import type { ControlPlane } from './control-plane';

export interface ProductIdentity {
  kubeconfigYaml: string;
  /** The same, in the cluster's dir (removed with it), mode 0600. */
  kubeconfigPath: string;
}

export async function productIdentity(
  cp: Pick<ControlPlane, 'dir' | 'kubeconfigYaml'>,
  options: RbacOptions = {},
): Promise<ProductIdentity> {
  const writer = rbacWriterFromKubeconfig('sandbox', cp.kubeconfigYaml);
  await applyProductRbac(writer, options);
  const { kubeconfig } = await productKubeconfig(writer, cp.kubeconfigYaml, {
    hours: 24,
    ...(options.subjectName === undefined ? {} : { subjectName: options.subjectName }),
  });
  const kubeconfigPath = join(cp.dir, `product-${options.subjectName ?? 'penetrator'}.kubeconfig`);
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  return { kubeconfigYaml: kubeconfig, kubeconfigPath };
}
