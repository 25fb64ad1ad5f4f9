import { describe, expect, it } from 'vitest';
import type { NodeWork } from '../../../lambdas/domain/contracts';
import { installJob } from '../../../lambdas/domain/install-job';
import type { PreparedTask } from '../../../lambdas/domain/prepared-task';
import {
  MACHINE_LABEL,
  machineKey,
  machineSelector,
  withMachineLabel,
} from '../../../lambdas/domain/machine-key';

const task = {
  name: 'add-nodes',
  cluster: 'prod',
  labelValue: 'add-nodes-k3j9x2',
  mode: 'proxy',
  installer: 'edgeadm',
  credential: 'edge-root',
  sshUser: 'root',
  sshPort: 22,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:penetrator:run-1',
  maxAttempts: 3,
  attemptTimeoutSeconds: 900,
  pollSeconds: 15,
  ownerUid: '6f1c1a52-0000-4000-8000-000000000001',
  taskObject: 'penetrator-task-add-nodes',
  credentialSecret: 'penetrator-credential-add-nodes',
  scriptConfigMap: 'penetrator-script-add-nodes',
} as PreparedTask;
const node: NodeWork = { name: 'edge-abc123', ip: '192.168.1.10', proxyNode: 'proxy-a', reinstall: false };

describe('machineKey', () => {
  it('is the site and the address, never the node name', () => {
    expect(machineKey({ ...node })).toBe(machineKey({ proxyNode: 'proxy-a', ip: '192.168.1.10' }));
    expect(machineKey(node)).toMatch(/^[0-9a-f]{10}$/);
    // The same private address at another site (NAT reuses subnets) is another machine.
    expect(machineKey({ proxyNode: 'proxy-b', ip: node.ip })).not.toBe(machineKey(node));
    expect(machineKey({ proxyNode: 'proxy-a', ip: '192.168.1.11' })).not.toBe(machineKey(node));
    expect(machineSelector(node)).toBe(`${MACHINE_LABEL}=${machineKey(node)}`);
  });
});

describe('withMachineLabel', () => {
  it('labels the Job and its Pods with the machine, leaving the built Job untouched', () => {
    const built = installJob({
      task,
      node,
      attempt: 1,
      image: 'registry.example/penetrator-installer:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      packageSource: { kind: 'none' },
      ttlSecondsAfterFinished: 86400,
    });
    const before = JSON.stringify(built);

    const job = withMachineLabel(built, node);

    expect(JSON.stringify(built)).toBe(before);
    expect(job.metadata.labels?.[MACHINE_LABEL]).toBe(machineKey(node));
    expect(job.spec?.template?.metadata?.labels?.[MACHINE_LABEL]).toBe(machineKey(node));
    expect(job.metadata.labels).toEqual({ ...built.metadata.labels, [MACHINE_LABEL]: machineKey(node) });
  });
});
