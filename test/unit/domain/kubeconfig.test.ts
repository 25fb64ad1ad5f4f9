import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { kubeconfigProblems } from '../../../lambdas/domain/kubeconfig';

const CA = Buffer.from(readFileSync('test/fixtures/certs/kubernetes-ca.crt', 'utf8')).toString('base64');
const TOKEN = 'token-never-quoted';

type Entry = Record<string, unknown>;

function kubeconfig(cluster: Entry = {}, user: Entry = {}, extra: Entry = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'prod',
        cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': CA, ...cluster },
      },
    ],
    users: [{ name: 'admin', user: { token: TOKEN, ...user } }],
    contexts: [{ name: 'admin@prod', context: { cluster: 'prod', user: 'admin' } }],
    'current-context': 'admin@prod',
    ...extra,
  });
}

describe('kubeconfigProblems', () => {
  it('accepts an https server with its certificate authority embedded and a token', () => {
    expect(kubeconfigProblems(kubeconfig())).toEqual([]);
  });

  it.each([
    [
      'a plain http server',
      { server: 'http://10.0.0.1:8080' },
      'clusters[0].cluster.server: must be an https URL',
    ],
    ['no server', { server: undefined }, 'clusters[0].cluster.server: missing'],
    [
      'no certificate authority',
      { 'certificate-authority-data': undefined },
      'clusters[0].cluster.certificate-authority-data: missing or not a base64 PEM certificate',
    ],
    [
      'a certificate authority that is not a certificate',
      { 'certificate-authority-data': Buffer.from('hello').toString('base64') },
      'clusters[0].cluster.certificate-authority-data: missing or not a base64 PEM certificate',
    ],
    [
      'TLS verification switched off',
      { 'insecure-skip-tls-verify': true },
      'clusters[0].cluster.insecure-skip-tls-verify: TLS verification cannot be switched off',
    ],
    [
      'a certificate authority file',
      { 'certificate-authority': '/etc/ca.crt' },
      'clusters[0].cluster.certificate-authority: refers to a file on the reading machine; embed the data instead',
    ],
  ])('refuses a cluster with %s, naming the field', (_what, cluster, problem) => {
    expect(kubeconfigProblems(kubeconfig(cluster))).toEqual([problem]);
  });

  it.each(['tokenFile', 'token-file', 'client-certificate', 'client-key'])(
    'refuses a user whose %s names a file',
    (field) => {
      expect(kubeconfigProblems(kubeconfig({}, { [field]: '/var/run/secret' }))).toEqual([
        `users[0].user.${field}: refers to a file on the reading machine; embed the data instead`,
      ]);
    },
  );

  it.each(['exec', 'auth-provider'])('refuses a user with a %s credential plugin', (field) => {
    expect(kubeconfigProblems(kubeconfig({}, { [field]: { command: 'aws' } }))).toEqual([
      `users[0].user.${field}: a credential plugin runs a program; use a token or a client certificate`,
    ]);
  });

  it('refuses insecure entries even outside the current context', () => {
    const text = kubeconfig(
      {},
      {},
      {
        clusters: [
          { name: 'prod', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': CA } },
          { name: 'lab', cluster: { server: 'https://10.0.0.2', 'insecure-skip-tls-verify': true } },
        ],
      },
    );
    expect(kubeconfigProblems(text)).toEqual([
      'clusters[1].cluster.insecure-skip-tls-verify: TLS verification cannot be switched off',
    ]);
  });

  it.each([
    ['not YAML', 'a: [', 'the kubeconfig is not YAML or JSON'],
    ['a list', '- a\n- b\n', 'the kubeconfig is not a mapping'],
    [
      'without a current context',
      kubeconfig({}, {}, { 'current-context': undefined }),
      'current-context: missing',
    ],
    [
      'whose current context is not listed',
      kubeconfig({}, {}, { 'current-context': 'other' }),
      'current-context: names no entry of contexts',
    ],
  ])('refuses a document %s', (_what, text, problem) => {
    expect(kubeconfigProblems(text)).toEqual([problem]);
  });

  it('never quotes a value of the document', () => {
    const text = kubeconfig(
      { server: `http://${TOKEN}.example`, 'insecure-skip-tls-verify': true },
      { tokenFile: `/run/${TOKEN}` },
    );
    const problems = kubeconfigProblems(text);
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).not.toContain(TOKEN);
  });
});
