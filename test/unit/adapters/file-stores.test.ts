import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileCredentials } from '../../../lambdas/adapters/file-credentials';
import { SingleClusterDirectory, clusterFromKubeconfigFile } from '../../../lambdas/adapters/file-clusters';
import { cachedKubeProvider } from '../../../lambdas/adapters/kube-cache';
import { ErrorNames } from '../../../lambdas/errors';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'penetrator-files-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
}

describe('FileCredentials', () => {
  it('reads YAML, JSON and PEM credential files', async () => {
    writeFileSync(join(dir, 'pw.yaml'), 'passwd: s3cret-pw\nknownHosts: "198.18.0.10 ssh-ed25519 AAAA"\n');
    writeFileSync(join(dir, 'json.json'), '{"sshkey": "KEYTEXT"}');
    writeFileSync(join(dir, 'key'), KEY);
    const store = new FileCredentials(dir);
    expect(await store.get('pw')).toEqual({
      passwd: 's3cret-pw',
      knownHosts: '198.18.0.10 ssh-ed25519 AAAA',
    });
    expect(await store.get('json')).toEqual({ sshkey: 'KEYTEXT' });
    expect(await store.get('key')).toEqual({ sshkey: `${KEY}\n` });
  });

  it("reads a key in the README's `sshkey: |` form as the key, not the YAML around it", async () => {
    const indented = KEY.split('\n')
      .map((line) => `  ${line}`)
      .join('\n');
    writeFileSync(
      join(dir, 'block.yaml'),
      `sshkey: |\n${indented}\nknownHosts: "198.18.0.10 ssh-ed25519 AAAA"\n`,
    );
    writeFileSync(join(dir, 'spaced.pem'), `\n\n${KEY}\n`);
    const store = new FileCredentials(dir);
    expect(await store.get('block')).toEqual({
      sshkey: `${KEY}\n`,
      knownHosts: '198.18.0.10 ssh-ed25519 AAAA',
    });
    expect(await store.get('spaced')).toEqual({ sshkey: `${KEY}\n` });
  });

  it('uses a single file for every credential name', async () => {
    writeFileSync(join(dir, 'one.yaml'), 'passwd: s3cret-pw\n');
    expect(await new FileCredentials(join(dir, 'one.yaml')).get('anything')).toEqual({ passwd: 's3cret-pw' });
  });

  it('reports missing, empty and unreadable credentials as CredentialInvalid without their content', async () => {
    writeFileSync(join(dir, 'empty.yaml'), 'user: root\n');
    writeFileSync(join(dir, 'broken.yaml'), 'passwd: [s3cret-pw\n');
    mkdirSync(join(dir, 'sub'));
    const store = new FileCredentials(dir);
    for (const name of ['absent', 'empty', 'broken', '../etc/passwd']) {
      const error = await failure(store.get(name));
      expect(error.name).toBe(ErrorNames.CredentialInvalid);
      expect(error.message).not.toContain('s3cret');
    }
    expect(await failure(new FileCredentials(join(dir, 'nope.yaml')).get('x'))).toMatchObject({
      name: ErrorNames.CredentialInvalid,
    });
  });
});

/** Any CA: nothing is dialled. */
const TEST_CA = readFileSync('test/fixtures/certs/kubernetes-ca.crt').toString('base64');

describe('local clusters', () => {
  it('knows exactly one cluster', async () => {
    const clusters = new SingleClusterDirectory('kubeconfig text', 'lab');
    expect(await clusters.list()).toEqual(['lab']);
    expect(await clusters.kubeconfig('lab')).toBe('kubeconfig text');
    expect(await failure(clusters.kubeconfig('prod'))).toMatchObject({ name: ErrorNames.ClusterNotFound });
    expect(await failure(clusterFromKubeconfigFile(join(dir, 'missing')))).toMatchObject({
      name: ErrorNames.ClusterNotFound,
    });
  });

  it('builds one kube client per cluster and does not cache a failure', async () => {
    let reads = 0;
    const kubeconfig = `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1", certificate-authority-data: ${TEST_CA}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
    let now = 0;
    const provider = cachedKubeProvider(
      {
        list: () => Promise.resolve(['lab']),
        directRanges: () => Promise.resolve('unbounded'),
        kubeconfig: (name) => {
          reads++;
          return name === 'lab' ? Promise.resolve(kubeconfig) : Promise.reject(new Error('unknown'));
        },
      },
      1000,
      () => now,
    );
    const first = await provider('lab');
    expect(await provider('lab')).toBe(first);
    expect(reads).toBe(1);
    now = 2000;
    expect(await provider('lab')).not.toBe(first);
    expect(reads).toBe(2);
    await expect(provider('other')).rejects.toThrow('unknown');
    await expect(provider('other')).rejects.toThrow('unknown');
    expect(reads).toBe(4);
  });
});

describe('FileCredentials bounds', () => {
  it('reads the clusters and ranges a credential file names, as a secret carries them in tags', async () => {
    writeFileSync(
      join(dir, 'bound.yaml'),
      'passwd: s3cret-pw\nclusters: [local, lab]\nranges: [172.21.3.0/24]\n',
    );
    writeFileSync(join(dir, 'free.yaml'), 'passwd: s3cret-pw\n');
    writeFileSync(join(dir, 'key.pem'), KEY);
    const store = new FileCredentials(dir);
    expect(await store.bounds('bound')).toEqual({ clusters: ['local', 'lab'], ranges: ['172.21.3.0/24'] });
    expect(await store.bounds('free')).toBe('unbounded');
    expect(await store.bounds('key')).toBe('unbounded');
    expect(await store.get('bound')).toEqual({ passwd: 's3cret-pw' });
  });

  it('refuses bounds it cannot read, naming the field and never the value', async () => {
    writeFileSync(join(dir, 'badrange.yaml'), 'passwd: s3cret-pw\nclusters: [local]\nranges: [172.21.3.0]\n');
    writeFileSync(join(dir, 'noclusters.yaml'), 'passwd: s3cret-pw\nranges: [172.21.3.0/24]\n');
    writeFileSync(join(dir, 'notlist.yaml'), 'passwd: s3cret-pw\nclusters: local\n');
    const store = new FileCredentials(dir);
    const messages = {
      badrange: /ranges\[0\]: .*prefix length/,
      noclusters: /ranges: given without clusters/,
      notlist: /clusters: expected a list of strings/,
    };
    for (const [name, message] of Object.entries(messages)) {
      const error = await failure(store.bounds(name));
      expect(error.name).toBe(ErrorNames.CredentialInvalid);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('s3cret');
    }
  });
});
