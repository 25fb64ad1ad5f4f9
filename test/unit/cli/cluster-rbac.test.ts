import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { rbacCommand } from '../../../cli/commands/cluster-rbac';
import { SHIPPED_RULES } from '../../../lambdas/domain/rbac';

const noWriter = () => {
  throw new Error('printing must not reach a cluster');
};

async function printed(): Promise<Array<Record<string, unknown>>> {
  let out = '';
  const code = await rbacCommand({}, { stdout: (text) => (out += text), writer: noWriter });
  expect(code).toBe(0);
  return parseAllDocuments(out).map((d) => d.toJS() as Record<string, unknown>);
}

describe('penetrator cluster rbac', () => {
  it('prints kubectl-applyable manifests: the account first, then each Role and ClusterRole with its binding', async () => {
    const docs = await printed();
    expect(docs.map((d) => `${String(d.kind)} ${String((d.metadata as { name: string }).name)}`)).toEqual([
      'Namespace edge-system',
      'ServiceAccount penetrator',
      'Role penetrator',
      'RoleBinding penetrator',
      'Role penetrator:join-tokens',
      'RoleBinding penetrator:join-tokens',
      'Role penetrator:cluster-info',
      'RoleBinding penetrator:cluster-info',
      'Role penetrator:node-events',
      'RoleBinding penetrator:node-events',
      'ClusterRole penetrator',
      'ClusterRoleBinding penetrator',
    ]);
    const rules = docs.flatMap((d) => (Array.isArray(d.rules) ? (d.rules as unknown[]) : []));
    expect(rules).toEqual(SHIPPED_RULES.map((r) => r.rule));
    for (const binding of docs.filter((d) => String(d.kind).endsWith('Binding'))) {
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'penetrator', namespace: 'edge-system' },
      ]);
    }
  });

  it('grants no list or watch on Secrets, and reads kube-public/cluster-info by name only', () => {
    for (const { rule } of SHIPPED_RULES.filter((r) => r.rule.resources.includes('secrets'))) {
      expect(rule.verbs).not.toContain('list');
      expect(rule.verbs).not.toContain('watch');
    }
    const kubePublic = SHIPPED_RULES.filter((r) => r.scope === 'kube-public');
    expect(kubePublic.map((r) => r.rule)).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cluster-info'] },
    ]);
    expect(SHIPPED_RULES.flatMap((r) => r.rule.verbs)).not.toContain('*');
  });

  it('reads --kubeconfig, --token-kubeconfig and --token-hours only with --apply', async () => {
    const io = { stdout: () => undefined, writer: noWriter };
    await expect(rbacCommand({ kubeconfig: 'admin' }, io)).rejects.toThrow(
      '--kubeconfig is only read with --apply',
    );
    await expect(rbacCommand({ tokenKubeconfig: 'out' }, io)).rejects.toThrow(
      '--token-kubeconfig is only read with --apply',
    );
    await expect(rbacCommand({ apply: true }, io)).rejects.toThrow('--apply needs --kubeconfig FILE');
    await expect(rbacCommand({ apply: true, kubeconfig: 'x', tokenHours: '0' }, io)).rejects.toThrow(
      '--token-hours: expected a whole number of hours',
    );
  });
});
