import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Taint } from '@kubernetes/client-node';
import { kubeFromKubeconfig } from '../lambdas/adapters/kube';
import { installNodeTaskCrd } from '../lambdas/use-cases/install-crd';
import { startControlPlane, type ControlPlane } from './control-plane';
import { grantBootstrapJoin } from './edge';
import { startTestKubelet, type TestKubelet, type TestNodeSpec } from './kubelet';
import { createEdgeNetwork, runChecked, type EdgeNetwork, type SiteOptions } from './network';
import { productIdentity, type ProductIdentity } from './product-identity';

/**
 * The whole test world in one call: edge sites of real sshd machines behind a one-way network, a real
 * control plane advertising the cloud address those sites can reach, with the NodeTask CRD installed,
 * and one proxy node per site (the test kubelet, running its Pods inside the site's proxy namespace).
 */

export interface TestEnvironmentOptions {
  /**
   * proxyNode: the site's proxy node name (default proxy-<site index>), e.g. the one a NodeTask names;
   * subnet and machines[].ip place the site on the addresses a NodeTask names (see SiteOptions).
   */
  sites: Array<SiteOptions & { proxyNode?: string }>;
  /** Extra labels on every proxy node. */
  proxyLabels?: Record<string, string>;
  /** Make the proxy nodes control-plane nodes: the control-plane role label and its NoSchedule taint. */
  controlPlaneProxy?: boolean;
}

export interface TestEnvironment {
  cp: ControlPlane;
  /**
   * What the product is given (registered cluster, local runs, the API): a ServiceAccount token bound
   * only to the shipped RBAC. `cp.kubeconfigYaml` is the admin's, for the tests' own setup and checks.
   */
  product: ProductIdentity;
  network: EdgeNetwork;
  kubelet: TestKubelet;
  /** Proxy node name per site, in site order: proxy-0, proxy-1, … unless the options named them. */
  proxyNodes: string[];
  /** A small tarball on the host, readable by the proxy nodes' Pods through a hostPath volume. */
  installPackagePath: string;
  stop(): Promise<void>;
}

export const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

export function proxyNodeName(opts: TestEnvironmentOptions, site: number): string {
  return opts.sites[site]?.proxyNode ?? `proxy-${site}`;
}

/** The proxy node of each site, as the test kubelet registers it. Pure. */
export function proxyNodeSpecs(
  network: Pick<EdgeNetwork, 'sites'>,
  opts: TestEnvironmentOptions,
): TestNodeSpec[] {
  const labels = { ...opts.proxyLabels, ...(opts.controlPlaneProxy ? { [CONTROL_PLANE_ROLE]: '' } : {}) };
  const taints: V1Taint[] = opts.controlPlaneProxy ? [{ key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' }] : [];
  return network.sites.map((site, index) => ({
    name: proxyNodeName(opts, index),
    netns: site.proxyNetns,
    labels,
    taints,
    // The test kubelet adds the Hostname address itself.
    addresses: [{ type: 'InternalIP', address: site.proxyAddress }],
  }));
}

async function createInstallPackage(): Promise<{ dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'penetrator-package-'));
  chmodSync(dir, 0o755);
  const content = join(dir, 'content');
  await runChecked(['mkdir', '-p', content]);
  writeFileSync(join(content, 'README'), 'Install package of the Penetrator test environment.\n');
  const path = join(dir, 'edge-install-package.tgz');
  await runChecked(['tar', '-czf', path, '-C', content, '.']);
  chmodSync(path, 0o644);
  return { dir, path };
}

/** Runs every step even when an earlier one throws; rethrows the first error afterwards. */
async function runAll(steps: Array<() => Promise<void>>): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AggregateError(errors, 'several steps of the test environment failed to stop');
}

export async function startTestEnvironment(opts: TestEnvironmentOptions): Promise<TestEnvironment> {
  // Undo steps in reverse start order; each runs even if another fails.
  const undo: Array<() => Promise<void>> = [];
  const stop = (): Promise<void> => runAll(undo.splice(0).reverse());
  try {
    // The network first: its routes must exist before anything talks to a site address.
    const network = await createEdgeNetwork({
      sites: opts.sites.map(({ machines, subnet, reachableFromCloud }) => ({
        machines,
        subnet,
        reachableFromCloud,
      })),
    });
    undo.push(() => network.stop());
    const cp = await startControlPlane({ advertiseAddress: network.cloudAddress });
    undo.push(() => cp.stop());
    await grantBootstrapJoin(cp.kubeconfigPath);
    // As a cluster admin sets a cluster up for the product: `penetrator cluster crd --apply`.
    await installNodeTaskCrd(kubeFromKubeconfig('sandbox', cp.kubeconfigYaml));
    // As a cluster admin gives the product its identity: `penetrator cluster rbac --apply`.
    const product = await productIdentity(cp);
    const kubelet = await startTestKubelet(cp, { nodes: proxyNodeSpecs(network, opts) });
    undo.push(() => kubelet.stop());
    const pkg = await createInstallPackage();
    undo.push(() => Promise.resolve(rmSync(pkg.dir, { recursive: true, force: true })));
    return {
      cp,
      product,
      network,
      kubelet,
      proxyNodes: network.sites.map((_, index) => proxyNodeName(opts, index)),
      installPackagePath: pkg.path,
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
