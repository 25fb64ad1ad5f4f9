import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNodeTaskText, type NodeTask } from '../../../lambdas/domain/node-task';
import { resolveSpec } from '../../../lambdas/domain/spec-defaults';

function taskFrom(file: string): NodeTask {
  const result = parseNodeTaskText(
    readFileSync(join(import.meta.dirname, '../../fixtures/nodetasks', file), 'utf8'),
  );
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.task;
}

describe('resolveSpec', () => {
  it('applies every default to the original fields', () => {
    expect(resolveSpec(taskFrom('add-nodes.yaml'))).toEqual({
      mode: 'proxy',
      installer: 'edgeadm',
      sshUser: 'root',
      sshPort: 22,
      proxyNodes: ['vm-2-117-centos'],
      credential: 'login-secret',
      maxConcurrency: 10,
      maxAttempts: 3,
      attemptTimeoutSeconds: 900,
      pollSeconds: 15,
      replaceNodes: [],
    });
  });

  it('keeps every value given', () => {
    expect(resolveSpec(taskFrom('extensions.yaml'))).toEqual({
      mode: 'direct',
      installer: 'kubeadm',
      sshUser: 'deploy',
      sshPort: 22,
      proxyNodes: [],
      credential: 'site-a-key',
      cluster: 'prod-eu',
      knownHosts: '198.18.1.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5\n',
      maxConcurrency: 50,
      maxAttempts: 5,
      attemptTimeoutSeconds: 1200,
      pollSeconds: 10,
      replaceNodes: [],
    });
  });

  it('uses proxyNodes in order, without duplicates', () => {
    const task = taskFrom('add-nodes.yaml');
    const spec = { ...task.spec, proxyNode: undefined, proxyNodes: ['vm-b', 'vm-a', 'vm-b'] };
    expect(resolveSpec({ ...task, spec }).proxyNodes).toEqual(['vm-b', 'vm-a']);
  });

  it('keeps replaceNodes without duplicates', () => {
    const task = taskFrom('add-nodes.yaml');
    const spec = { ...task.spec, replaceNodes: ['old-a', 'old-b', 'old-a'] };
    expect(resolveSpec({ ...task, spec }).replaceNodes).toEqual(['old-a', 'old-b']);
  });
});
