import { apiRequest, statusMessage, type Endpoint } from './api-client';
import { JoinError } from './join-error';
import type { NodeCredentials } from './tls-bootstrap';

/**
 * What a starting kubelet does to the apiserver, once: register its Node (or adopt the existing one,
 * as the kubelet does on re-registration) and report it Ready. Runs as system:node:<name>, so the
 * Node authorizer and NodeRestriction admission judge every call exactly as for a real node.
 */

export interface NodeIdentity {
  name: string;
  /** kubernetes.io/arch value (amd64, arm64). */
  arch: string;
  internalIp: string;
}

export function nodeLabels(node: NodeIdentity): Record<string, string> {
  return {
    'kubernetes.io/arch': node.arch,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/hostname': node.name,
    'beta.kubernetes.io/arch': node.arch,
    'beta.kubernetes.io/os': 'linux',
  };
}

export function nodeStatus(node: NodeIdentity, now: string) {
  return {
    addresses: [
      { type: 'InternalIP', address: node.internalIp },
      { type: 'Hostname', address: node.name },
    ],
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'stand-in join registered the node',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
    nodeInfo: {
      architecture: node.arch,
      operatingSystem: 'linux',
      kubeletVersion: 'v0.0.0-stand-in',
      kubeProxyVersion: '',
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '',
      osImage: '',
      containerRuntimeVersion: '',
    },
  };
}

export async function registerNode(
  endpoint: Endpoint,
  caPem: string,
  creds: NodeCredentials,
  node: NodeIdentity,
): Promise<'created' | 'adopted'> {
  const auth = { caPem, clientCertPem: creds.certPem, clientKeyPem: creds.keyPem };
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const created = await apiRequest(endpoint, 'POST', '/api/v1/nodes', auth, {
    contentType: 'application/json',
    value: { apiVersion: 'v1', kind: 'Node', metadata: { name: node.name, labels: nodeLabels(node) } },
  });
  let outcome: 'created' | 'adopted' = 'created';
  if (created.status === 409) {
    outcome = 'adopted';
    const patched = await apiRequest(endpoint, 'PATCH', `/api/v1/nodes/${node.name}`, auth, {
      contentType: 'application/strategic-merge-patch+json',
      value: { metadata: { labels: nodeLabels(node) } },
    });
    if (patched.status !== 200) {
      throw new JoinError(
        'kubelet-start',
        `cannot update the existing Node ${node.name} (${patched.status}): ${statusMessage(patched)}`,
      );
    }
  } else if (created.status !== 201) {
    throw new JoinError(
      'kubelet-start',
      `cannot register Node ${node.name} (${created.status}): ${statusMessage(created)}`,
    );
  }
  const status = await apiRequest(endpoint, 'PATCH', `/api/v1/nodes/${node.name}/status`, auth, {
    contentType: 'application/strategic-merge-patch+json',
    value: { status: nodeStatus(node, now) },
  });
  if (status.status !== 200) {
    throw new JoinError(
      'kubelet-start',
      `cannot report the status of Node ${node.name} (${status.status}): ${statusMessage(status)}`,
    );
  }
  return outcome;
}
