import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeconfigDirectory } from '../../../lambdas/adapters/file-clusters';
import { ErrorNames } from '../../../lambdas/errors';
import { LocalEnv, localCompositionFromEnv } from '../../../lambdas/local-composition';
import { SettingsEnv, settingsFromEnv, settingsToEnv } from '../../../lambdas/settings';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'penetrator-local-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('KubeconfigDirectory', () => {
  it('serves each file of the directory as the cluster it is named after', async () => {
    writeFileSync(join(dir, 'prod'), 'kind: Config # prod\n');
    writeFileSync(join(dir, 'edge-2'), 'kind: Config # edge-2\n');
    const clusters = new KubeconfigDirectory(dir);
    expect(await clusters.list()).toEqual(['edge-2', 'prod']);
    expect(await clusters.kubeconfig('prod')).toBe('kind: Config # prod\n');
  });

  it('refuses a missing cluster and a name that would leave the directory, as ClusterNotFound', async () => {
    writeFileSync(join(dir, 'prod'), 'kind: Config\n');
    const clusters = new KubeconfigDirectory(join(dir));
    await expect(clusters.kubeconfig('staging')).rejects.toMatchObject({
      name: ErrorNames.ClusterNotFound,
      message: 'cluster staging is not registered; registered: prod',
    });
    await expect(clusters.kubeconfig('../prod')).rejects.toMatchObject({ name: ErrorNames.ClusterNotFound });
  });
});

describe('the local composition from the environment', () => {
  const local = () => ({ [LocalEnv.clusters]: dir, [LocalEnv.credentials]: join(dir, 'creds') });

  it('is absent when the runner set nothing (AWS)', () => {
    expect(localCompositionFromEnv({})).toBeUndefined();
  });

  it('wires the clusters directory and the settings the runner set', async () => {
    writeFileSync(join(dir, 'local'), 'kind: Config\n');
    const deps = localCompositionFromEnv({ ...local(), [SettingsEnv.defaultCluster]: 'local' });
    expect(deps?.settings.defaultCluster).toBe('local');
    expect(await deps?.clusters.list()).toEqual(['local']);
    expect(deps?.events).toBeUndefined();
  });

  it('is refused inside AWS Lambda, whatever else is set', () => {
    expect(() => localCompositionFromEnv({ ...local(), AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001' })).toThrow(
      /refused inside AWS Lambda/,
    );
  });

  it('needs both the clusters and the credentials', () => {
    expect(() => localCompositionFromEnv({ [LocalEnv.clusters]: dir })).toThrow(
      /PENETRATOR_LOCAL_CREDENTIALS; one is missing/,
    );
  });
});

describe('settingsToEnv', () => {
  it('gives settingsFromEnv back the same settings', () => {
    const settings = {
      installerImage: 'registry.local/installer:1',
      packageSource: { kind: 'hostPath' as const, path: '/opt/pkg/edgeadm.tgz' },
      defaultCluster: 'local',
      taskDeadlineSeconds: 3600,
      imagePullPolicy: 'Never' as const,
    };
    expect(settingsFromEnv(settingsToEnv(settings))).toMatchObject(settings);
  });
});
