import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTROL_PLANE_ROLE, startTestEnvironment, type TestEnvironment } from '../../sandbox/env';
import {
  run,
  runChecked,
  runInNetns,
  shellQuote,
  type EdgeMachine,
  type EdgeNetwork,
} from '../../sandbox/network';

// The stand-in edgeadm/kubeadm on real sshd machines, joining a real control plane through the
// one-way network with a real bootstrap token: discovery, TLS bootstrap, Node registration.

const PASSWORD = 'join-test-pass';
const KUBEADM_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const PROXY = 'vm-2-117-centos';

let env: TestEnvironment;
let net: EdgeNetwork;
let core: CoreV1Api;
let scratch: string;
let endpoint: string;
let caHash: string;
let token: string;
let authDisabledToken: string;
let machines: { arm: EdgeMachine; x86: EdgeMachine; mips: EdgeMachine };

function randomChars(n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

/** A kubeadm-style bootstrap token Secret; returns the token. */
async function createBootstrapToken(usages: { authentication: boolean; signing: boolean }): Promise<string> {
  const id = randomChars(6);
  const secret = randomChars(16);
  await core.createNamespacedSecret({
    namespace: 'kube-system',
    body: {
      metadata: { name: `bootstrap-token-${id}` },
      type: 'bootstrap.kubernetes.io/token',
      stringData: {
        'token-id': id,
        'token-secret': secret,
        expiration: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        'usage-bootstrap-authentication': String(usages.authentication),
        'usage-bootstrap-signing': String(usages.signing),
        'auth-extra-groups': KUBEADM_GROUP,
      },
    },
  });
  return `${id}.${secret}`;
}

/** The CA hash as kubeadm's documentation computes it, with openssl, independently of the stand-in. */
async function opensslCaHash(caPem: string): Promise<string> {
  const der = await runChecked(
    ['sh', '-c', 'openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum'],
    {
      input: caPem,
    },
  );
  return `sha256:${der.split(' ')[0]}`;
}

/** Runs a command on a machine over ssh from its site's proxy namespace (every word quoted). */
function onMachine(machine: EdgeMachine, argv: string[]) {
  const knownHosts = join(scratch, `known_hosts-${machine.name}`);
  writeFileSync(knownHosts, `${machine.knownHostsLine}\n`);
  const site = net.sites.find((s) => s.machines.includes(machine))!;
  return runInNetns(
    site.proxyNetns,
    [
      'sshpass',
      '-e',
      'ssh',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      `root@${machine.ip}`,
      argv.map(shellQuote).join(' '),
    ],
    { env: { SSHPASS: PASSWORD }, timeoutMs: 120_000 },
  );
}

function joinArgs(
  profile: 'edgeadm' | 'kubeadm',
  nodeName: string,
  overrides: { token?: string; caHash?: string; pkg?: string } = {},
): string[] {
  const args = [
    profile,
    'join',
    endpoint,
    '--token',
    overrides.token ?? token,
    '--discovery-token-ca-cert-hash',
    overrides.caHash ?? caHash,
    '--node-name',
    nodeName,
  ];
  return profile === 'edgeadm'
    ? [...args, '--install-pkg-path', overrides.pkg ?? '/root/edge-package.tgz']
    : args;
}

async function readNode(name: string): Promise<V1Node | undefined> {
  try {
    return await core.readNode({ name });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'join-test-'));
  env = await startTestEnvironment({
    sites: [
      {
        machines: [
          { password: PASSWORD, arch: 'aarch64' },
          { password: PASSWORD },
          { password: PASSWORD, arch: 'mips' },
        ],
        proxyNode: PROXY,
      },
    ],
    controlPlaneProxy: true,
    proxyLabels: { 'example.com/site': 'site-0' },
  });
  net = env.network;
  const [arm, x86, mips] = net.sites[0]!.machines as [EdgeMachine, EdgeMachine, EdgeMachine];
  machines = { arm, x86, mips };
  const kc = new KubeConfig();
  kc.loadFromString(env.cp.kubeconfigYaml);
  core = kc.makeApiClient(CoreV1Api);
  endpoint = env.cp.siteServer.replace(/^https:\/\//, '');
  caHash = await opensslCaHash(env.cp.caPem);
  token = await createBootstrapToken({ authentication: true, signing: true });
  authDisabledToken = await createBootstrapToken({ authentication: false, signing: true });

  // The install package reaches the machines the way the installer sends it: scp from the proxy.
  const knownHosts = join(scratch, 'known_hosts-scp');
  writeFileSync(knownHosts, net.sites[0]!.machines.map((m) => m.knownHostsLine).join('\n'));
  for (const machine of [arm, x86]) {
    await runChecked(
      [
        'ip',
        'netns',
        'exec',
        net.sites[0]!.proxyNetns,
        'sshpass',
        '-e',
        'scp',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${knownHosts}`,
        env.installPackagePath,
        `root@${machine.ip}:/root/edge-package.tgz`,
      ],
      { env: { SSHPASS: PASSWORD } },
    );
  }
});

afterAll(async () => {
  await env?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('test environment', () => {
  it('registers one proxy node per site, in the site, with the requested name, labels and taint', async () => {
    expect(env.proxyNodes).toEqual([PROXY]);
    const proxy = await readNode(PROXY);
    expect(proxy?.status?.addresses).toContainEqual({
      type: 'InternalIP',
      address: net.sites[0]!.proxyAddress,
    });
    expect(proxy?.metadata?.labels).toMatchObject({ [CONTROL_PLANE_ROLE]: '', 'example.com/site': 'site-0' });
    expect(proxy?.spec?.taints).toContainEqual(
      expect.objectContaining({ key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' }),
    );
  });

  it('runs proxy Pods inside the site: they read the install package and reach the machines', async () => {
    const machine = machines.x86;
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'proxy-probe' },
        spec: {
          nodeName: PROXY,
          restartPolicy: 'Never',
          tolerations: [{ key: CONTROL_PLANE_ROLE, operator: 'Exists', effect: 'NoSchedule' }],
          volumes: [{ name: 'package', hostPath: { path: env.installPackagePath, type: 'File' } }],
          containers: [
            {
              name: 'probe',
              image: 'penetrator/installer:test',
              command: [
                'bash',
                '-c',
                'sha256sum /pkg/package.tgz && timeout 5 bash -c "exec 3<>/dev/tcp/$0/22 && head -c 4 <&3"',
                machine.ip,
              ],
              volumeMounts: [{ name: 'package', mountPath: '/pkg/package.tgz', readOnly: true }],
            },
          ],
        },
      },
    });
    const phase = await vi.waitFor(
      async () => {
        const now = (await core.readNamespacedPod({ name: 'proxy-probe', namespace: 'default' })).status
          ?.phase;
        if (now !== 'Succeeded' && now !== 'Failed')
          throw new Error(`the probe pod is ${now ?? 'unscheduled'}`);
        return now;
      },
      { timeout: 30_000, interval: 250 },
    );
    const output = readFileSync(env.kubelet.logPath('default', 'proxy-probe', 'probe'), 'utf8');
    // The container output rides along so that a failure shows it.
    expect({ phase, output }).toMatchObject({ phase: 'Succeeded' });
    const digest = createHash('sha256').update(readFileSync(env.installPackagePath)).digest('hex');
    expect(output).toContain(digest);
    expect(output).toContain('SSH-');
  });
});

describe('stand-in join', () => {
  it('edgeadm join registers the Node with the machine arch and InternalIP, and reports it Ready', async () => {
    const result = await onMachine(machines.arm, joinArgs('edgeadm', 'edge-arm'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('This node has joined the cluster');
    expect(result.stdout + result.stderr).not.toContain(token);

    const node = await readNode('edge-arm');
    expect(node?.metadata?.labels).toMatchObject({
      'kubernetes.io/arch': 'arm64',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': 'edge-arm',
    });
    expect(node?.status?.addresses).toContainEqual({ type: 'InternalIP', address: machines.arm.ip });
    expect(node?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('kubeadm join needs no install package and reports amd64 on x86_64', async () => {
    const result = await onMachine(machines.x86, joinArgs('kubeadm', 'edge-x86'));
    expect(result).toMatchObject({ code: 0 });
    const node = await readNode('edge-x86');
    expect(node?.metadata?.labels?.['kubernetes.io/arch']).toBe('amd64');
    expect(node?.status?.addresses).toContainEqual({ type: 'InternalIP', address: machines.x86.ip });
  });

  it('kubeadm join --config reads the endpoint, token, CA pin and node name from a JoinConfiguration', async () => {
    await onMachine(machines.x86, ['kubeadm', 'reset', '-f']);
    const config = [
      'apiVersion: kubeadm.k8s.io/v1beta3',
      'kind: JoinConfiguration',
      'discovery:',
      '  bootstrapToken:',
      `    apiServerEndpoint: "${endpoint}"`,
      `    token: "${token}"`,
      `    caCertHashes: ["${caHash}"]`,
      'nodeRegistration:',
      '  name: "edge-x86-config"',
      '',
    ].join('\n');
    const write = ['sh', '-c', 'umask 077 && printf "%s" "$1" >/root/join.yaml', 'sh', config];
    expect(await onMachine(machines.x86, write)).toMatchObject({ code: 0 });

    const mixed = await onMachine(machines.x86, ['kubeadm', 'join', '--config', '/root/join.yaml', endpoint]);
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain("can not mix '--config' with arguments [endpoint]");

    const result = await onMachine(machines.x86, ['kubeadm', 'join', '--config', '/root/join.yaml']);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout + result.stderr).not.toContain(token);
    expect((await readNode('edge-x86-config'))?.status?.addresses).toContainEqual({
      type: 'InternalIP',
      address: machines.x86.ip,
    });
  });

  it('refuses to join an already joined machine until reset -f, and joins again after it', async () => {
    const again = await onMachine(machines.arm, joinArgs('edgeadm', 'edge-arm'));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already joined a cluster, run 'edgeadm reset -f'/);

    const unconfirmed = await onMachine(machines.arm, ['edgeadm', 'reset']);
    expect(unconfirmed.code).not.toBe(0);
    const reset = await onMachine(machines.arm, ['edgeadm', 'reset', '-f']);
    expect(reset.code).toBe(0);
    // reset leaves the Node object, as the real one does.
    expect(await readNode('edge-arm')).toBeDefined();

    const rejoin = await onMachine(machines.arm, joinArgs('edgeadm', 'edge-arm'));
    expect(rejoin).toMatchObject({ code: 0 });
    expect(rejoin.stdout).toContain('already existed and was updated');
  });

  it('fails on a wrong token secret (cluster-info signature) and no Node appears', async () => {
    const wrong = `${token.split('.')[0]!}.${randomChars(16)}`;
    await onMachine(machines.x86, ['kubeadm', 'reset', '-f']);
    const result = await onMachine(machines.x86, joinArgs('kubeadm', 'edge-wrong-token', { token: wrong }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/JWS signature .* does not verify with the given token/);
    expect(result.stderr).not.toContain(wrong);
    expect(await readNode('edge-wrong-token')).toBeUndefined();
  });

  it('fails when the apiserver rejects the token (401) and no Node appears', async () => {
    const result = await onMachine(
      machines.x86,
      joinArgs('kubeadm', 'edge-401', { token: authDisabledToken }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/rejected the bootstrap token \(401 Unauthorized\)/);
    expect(await readNode('edge-401')).toBeUndefined();
  });

  it('fails on a wrong CA hash and no Node appears', async () => {
    const wrongHash = `sha256:${'ab'.repeat(32)}`;
    const result = await onMachine(machines.x86, joinArgs('kubeadm', 'edge-wrong-ca', { caHash: wrongHash }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/does not match --discovery-token-ca-cert-hash/);
    expect(await readNode('edge-wrong-ca')).toBeUndefined();
  });

  it('edgeadm fails when the install package is missing or not a file', async () => {
    const missing = await onMachine(
      machines.x86,
      joinArgs('edgeadm', 'edge-no-pkg', { pkg: '/root/absent.tgz' }),
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/install package \/root\/absent.tgz does not exist/);
    const directory = await onMachine(machines.x86, joinArgs('edgeadm', 'edge-no-pkg', { pkg: '/root' }));
    expect(directory.stderr).toMatch(/is not a regular file/);
    expect(await readNode('edge-no-pkg')).toBeUndefined();
  });

  it('fails on an unsupported architecture', async () => {
    const result = await onMachine(machines.mips, joinArgs('kubeadm', 'edge-mips'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unsupported machine architecture "mips"/);
    expect(await readNode('edge-mips')).toBeUndefined();
  });

  it('keeps the join state on the machine that joined', async () => {
    const state = await run(['cat', join(machines.arm.stateDir, 'stand-in-join.json')]);
    expect(JSON.parse(state.stdout)).toMatchObject({
      nodeName: 'edge-arm',
      arch: 'arm64',
      internalIp: machines.arm.ip,
    });
    const mipsState = await run(['test', '-e', join(machines.mips.stateDir, 'stand-in-join.json')]);
    expect(mipsState.code).not.toBe(0);
  });
});
