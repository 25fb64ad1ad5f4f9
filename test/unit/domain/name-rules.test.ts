import { describe, expect, it } from 'vitest';
import { addCluster } from '../../../cli/commands/cluster';
import { putCredential } from '../../../cli/commands/credential';
import type { RemoteIo } from '../../../cli/remote/connect';
import { ContextKeys, loadConfig } from '../../../infra/config';
import { FileCredentials } from '../../../lambdas/adapters/file-credentials';
import { isClusterName, isCredentialName } from '../../../lambdas/domain/name-rules';
import { validateNodeTask } from '../../../lambdas/domain/node-task';
import { resolveSettings } from '../../../lambdas/settings';
import { nodeTask } from '../../support/node-task';

// Every door that takes a cluster or credential name must accept exactly what the others accept: a
// name the API registers but the deployment's defaultCluster refuses (it happened) is a trap.

const clusterNames: Array<[string, boolean]> = [
  ['prod', true],
  ['Prod', true],
  ['edge_eu-1.prod', true],
  ['9', true],
  ['a'.repeat(63), true],
  ['a'.repeat(64), false],
  ['-prod', false],
  ['.prod', false],
  ['prod/eu', false],
  ['pröd', false],
  ['', false],
];

const credentialNames: Array<[string, boolean]> = [
  ['login-secret', true],
  ['site-a.login', true],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, true],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, false],
  ['Login', false],
  ['login..secret', false],
  ['login_secret', false],
  ['-login', false],
  ['login-', false],
  ['', false],
];

const io: RemoteIo = { stdout: () => undefined, stderr: () => undefined, now: () => new Date(0) };
const noClient = () => {
  throw new Error('no request expected');
};

/** What each door says of a cluster name: true when it takes it. */
const clusterDoors: Record<string, (name: string) => Promise<boolean> | boolean> = {
  'NodeTask spec.cluster': (name) => validateNodeTask(nodeTask({ spec: { cluster: name } })).ok,
  'penetrator cluster add': async (name) => {
    // A good name gets as far as reading the kubeconfig, which does not exist.
    const error = await addCluster(noClient, name, { kubeconfig: '/nonexistent/kubeconfig' }, io).catch(
      (e: unknown) => e,
    );
    return !String((error as Error).message).includes('is not a cluster name');
  },
  'CDK context defaultCluster': (name) => {
    try {
      loadConfig(withPackageSource(ContextKeys.defaultCluster, name));
      return true;
    } catch {
      return false;
    }
  },
  'Lambda settings defaultCluster': (name) => {
    try {
      resolveSettings({ defaultCluster: name });
      return true;
    } catch {
      return false;
    }
  },
};

/** A context holding one key under test, beside the package source every deployment must name. */
function withPackageSource(key: string, value: unknown): (asked: string) => unknown {
  return (asked) => {
    if (asked === key) return value;
    return asked === ContextKeys.packageSource ? 'none' : undefined;
  };
}

const credentialDoors: Record<string, (name: string) => Promise<boolean> | boolean> = {
  'NodeTask spec.sshCredential': (name) => validateNodeTask(nodeTask({ spec: { sshCredential: name } })).ok,
  'penetrator credential put': async (name) => {
    const error = await putCredential(noClient, name, { sshKey: '/nonexistent/key' }, io).catch(
      (e: unknown) => e,
    );
    return !String((error as Error).message).includes('is not a credential name');
  },
  'local credential directory': async (name) => {
    const error = await new FileCredentials('/').get(name).catch((e: unknown) => e);
    return !String((error as Error).message).includes('is not a valid credential name');
  },
  'CDK context reinstallSchedule.sshCredential': (name) => {
    const schedule = {
      cron: '0 3 ? * SUN *',
      cluster: 'prod',
      labelSelector: 'role=edge',
      sshCredential: name,
    };
    try {
      loadConfig(withPackageSource(ContextKeys.reinstallSchedule, schedule));
      return true;
    } catch {
      return false;
    }
  },
};

/** name → whether the door takes it. */
async function verdicts(
  door: (name: string) => Promise<boolean> | boolean,
  names: Array<[string, boolean]>,
): Promise<Record<string, boolean>> {
  const result: Record<string, boolean> = {};
  for (const [name] of names) result[name] = await door(name);
  return result;
}

describe('cluster names', () => {
  it.each(clusterNames)('%j: the rule says %s', (name, valid) => {
    expect(isClusterName(name)).toBe(valid);
  });

  it.each(Object.keys(clusterDoors))('%s takes exactly the names the rule takes', async (door) => {
    // The empty string means "not set" to the context and the settings.
    const names = clusterNames.filter(
      ([name]) => name !== '' || door === 'NodeTask spec.cluster' || door === 'penetrator cluster add',
    );
    expect(await verdicts(clusterDoors[door]!, names)).toEqual(Object.fromEntries(names));
  });
});

describe('credential names', () => {
  it.each(credentialNames)('%j: the rule says %s', (name, valid) => {
    expect(isCredentialName(name)).toBe(valid);
  });

  it.each(Object.keys(credentialDoors))('%s takes exactly the names the rule takes', async (door) => {
    expect(await verdicts(credentialDoors[door]!, credentialNames)).toEqual(
      Object.fromEntries(credentialNames),
    );
  });
});
