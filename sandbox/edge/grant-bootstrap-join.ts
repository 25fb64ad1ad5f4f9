import { KubeConfig, RbacAuthorizationV1Api, type V1ClusterRoleBinding } from '@kubernetes/client-node';

/**
 * Lets every bootstrap token (group system:bootstrappers) join a node with the stand-in join: submit
 * a node client CSR and have it approved automatically. These are the bindings `kubeadm init` creates
 * for its own token group; granting them to the whole bootstrappers group is a test convenience, so
 * that a token without kubeadm's auth-extra-groups joins too. Real clusters create them for their
 * token group once, as part of their node bootstrap setup. Idempotent.
 *
 * The Node object itself is then created by the node's own identity (system:node:<name>), which the
 * Node authorizer and NodeRestriction allow: no one is granted write access to Nodes.
 */

export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';

const BINDINGS: Array<{ name: string; clusterRole: string }> = [
  { name: 'penetrator-test:node-bootstrapper', clusterRole: 'system:node-bootstrapper' },
  {
    name: 'penetrator-test:node-autoapprove-bootstrap',
    clusterRole: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
  },
];

function bindingBody(name: string, clusterRole: string, group: string): V1ClusterRoleBinding {
  return {
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'penetrator-test' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
}

export async function grantBootstrapJoin(
  kubeconfig: string | KubeConfig,
  group = BOOTSTRAPPERS_GROUP,
): Promise<void> {
  let kc: KubeConfig;
  if (typeof kubeconfig === 'string') {
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
  } else {
    kc = kubeconfig;
  }
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  for (const { name, clusterRole } of BINDINGS) {
    const body = bindingBody(name, clusterRole, group);
    try {
      await rbac.createClusterRoleBinding({ body });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
      await rbac.replaceClusterRoleBinding({ name, body });
    }
  }
}
