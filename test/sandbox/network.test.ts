import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEdgeNetwork,
  runChecked,
  runInNetns,
  type EdgeMachine,
  type EdgeNetwork,
  type Site,
} from '../../sandbox/network';

// The one-way edge network with real sshd machines: what the proxy node can do, what the cloud cannot.

const PASSWORDS = ['edge-pass-0', 'edge-pass-1', 'edge-pass-2'] as const;

let net: EdgeNetwork;
let scratch: string;
let clientKey: string;
let site0: Site;
let site1: Site;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'network-test-'));
  clientKey = join(scratch, 'id_ed25519');
  await runChecked(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'network-test', '-f', clientKey]);
  const publicKey = readFileSync(`${clientKey}.pub`, 'utf8').trim();
  net = await createEdgeNetwork({
    sites: [
      {
        machines: [
          { password: PASSWORDS[0], arch: 'aarch64', authorizedKeys: [publicKey] },
          { password: PASSWORDS[1] },
          { password: PASSWORDS[2], refuseLogin: true },
        ],
      },
      { machines: [{ authorizedKeys: [publicKey] }] },
    ],
  });
  site0 = net.sites[0]!;
  site1 = net.sites[1]!;
});

afterAll(async () => {
  await net?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function knownHostsFile(machine: EdgeMachine, line = machine.knownHostsLine): string {
  const file = join(scratch, `known_hosts-${machine.name}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, `${line}\n`);
  return file;
}

function sshArgs(machine: EdgeMachine, knownHosts: string, command: string): string[] {
  return [
    'ssh',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'ConnectTimeout=5',
    '-o',
    'NumberOfPasswordPrompts=1',
    `root@${machine.ip}`,
    command,
  ];
}

/** ssh with a password from the site's proxy namespace; the password travels in SSHPASS, not argv. */
function sshWithPassword(
  site: Site,
  machine: EdgeMachine,
  password: string,
  command: string,
  knownHosts?: string,
) {
  return runInNetns(
    site.proxyNetns,
    ['sshpass', '-e', ...sshArgs(machine, knownHosts ?? knownHostsFile(machine), command)],
    {
      env: { SSHPASS: password },
      timeoutMs: 20_000,
    },
  );
}

function sshWithKey(site: Site, machine: EdgeMachine, command: string) {
  const args = sshArgs(machine, knownHostsFile(machine), command);
  return runInNetns(site.proxyNetns, [args[0]!, '-i', clientKey, '-o', 'BatchMode=yes', ...args.slice(1)], {
    timeoutMs: 20_000,
  });
}

/** Tries a TCP connection from the host namespace; resolves to how it ended. */
function connectFromHost(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<'connected' | 'error' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (outcome: 'connected' | 'error' | 'timeout'): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.once('connect', () => finish('connected'));
    socket.once('error', () => finish('error'));
  });
}

describe('edge network', () => {
  it('gives every site its own subnet, proxy address and machines', () => {
    expect(site0.subnet).not.toBe(site1.subnet);
    for (const site of net.sites) {
      const prefix = site.subnet.replace(/0\/24$/, '');
      expect(site.proxyAddress.startsWith(prefix)).toBe(true);
      for (const machine of site.machines) expect(machine.ip.startsWith(prefix)).toBe(true);
    }
    expect(site0.machines.map((m) => m.arch)).toEqual(['aarch64', 'x86_64', 'x86_64']);
    expect(site0.machines[0]!.hostKeyFingerprint).toMatch(/^SHA256:/);
  });

  it('routes every site subnet into its router, never to the default route', async () => {
    for (const site of net.sites) {
      const machine = site.machines[0]!;
      const route = await runChecked(['ip', 'route', 'get', machine.ip]);
      expect(route).not.toMatch(/dev eth0/);
      expect(route).toContain(`via ${site.routerUplinkAddress}`);
    }
  });

  it('drops and counts a connection the host tries to open to an edge machine', async () => {
    const machine = site0.machines[0]!;
    const before = await site0.droppedInbound();
    const outcome = await connectFromHost(machine.ip, 22, 2_500);
    expect(outcome).not.toBe('connected');
    expect(await site0.droppedInbound()).toBeGreaterThan(before);
  });

  it('lets the proxy log in with a password, verifying the host key, and reports the arch', async () => {
    const [aarch64, x86] = [site0.machines[0]!, site0.machines[1]!];
    const first = await sshWithPassword(site0, aarch64, PASSWORDS[0], 'uname -m');
    expect(first.stderr).not.toMatch(/Permanently added/);
    expect(first).toMatchObject({ code: 0, stdout: 'aarch64\n' });
    const second = await sshWithPassword(site0, x86, PASSWORDS[1], 'uname -m; uname -s');
    expect(second).toMatchObject({ code: 0, stdout: 'x86_64\nLinux\n' });
  });

  it('lets the proxy log in with a key', async () => {
    const result = await sshWithKey(site0, site0.machines[0]!, 'echo key-login-ok');
    expect(result).toMatchObject({ code: 0, stdout: 'key-login-ok\n' });
    const other = await sshWithKey(site1, site1.machines[0]!, 'uname -m');
    expect(other).toMatchObject({ code: 0, stdout: 'x86_64\n' });
  });

  it('refuses a wrong password', async () => {
    const result = await sshWithPassword(site0, site0.machines[1]!, 'not-the-password', 'true');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/);
  });

  it('refuses every credential on a machine that refuses logins', async () => {
    const result = await sshWithPassword(site0, site0.machines[2]!, PASSWORDS[2], 'true');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/);
  });

  it('rejects a machine whose host key does not match the known_hosts line', async () => {
    const [a, b] = [site0.machines[0]!, site0.machines[1]!];
    const wrongLine = a.knownHostsLine.replace(a.ip, b.ip);
    const result = await sshWithPassword(site0, b, PASSWORDS[1], 'true', knownHostsFile(b, wrongLine));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('gives each machine a private /etc/kubernetes, /tmp and /etc', async () => {
    const [a, b] = [site0.machines[0]!, site0.machines[1]!];
    const marker = `marker-${net.id}`;
    const write = `echo a > /etc/kubernetes/${marker} && echo a > /tmp/${marker} && echo a > /etc/${marker}`;
    const result = await sshWithPassword(site0, a, PASSWORDS[0], write);
    expect(result.code).toBe(0);
    expect(readFileSync(join(a.stateDir, marker), 'utf8')).toBe('a\n');
    expect(existsSync(join(b.stateDir, marker))).toBe(false);
    for (const dir of ['/etc/kubernetes', '/tmp', '/etc']) expect(existsSync(join(dir, marker))).toBe(false);
    const seenByB = await sshWithPassword(
      site0,
      b,
      PASSWORDS[1],
      `test ! -e /etc/kubernetes/${marker} && test ! -e /tmp/${marker}`,
    );
    expect(seenByB.code).toBe(0);
    const seenByA = await sshWithPassword(site0, a, PASSWORDS[0], `cat /tmp/${marker} /etc/${marker}`);
    expect(seenByA).toMatchObject({ code: 0, stdout: 'a\na\n' });
  });

  it('lets machines of every site reach the cloud address, masqueraded behind their router', async () => {
    const server = createServer();
    const peers: string[] = [];
    server.on('connection', (socket) => {
      peers.push(socket.remoteAddress ?? '');
      socket.end('hello from the cloud\n');
    });
    await new Promise<void>((resolve) => server.listen(0, net.cloudAddress, resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const site of [site0, site1]) {
        const dial = [
          'timeout',
          '5',
          'bash',
          '-c',
          'exec 3<>"/dev/tcp/$1/$2" && head -n 1 <&3',
          'dial',
          net.cloudAddress,
          String(port),
        ];
        const result = await runInNetns(site.machines[0]!.netns, dial);
        expect(result).toMatchObject({ code: 0, stdout: 'hello from the cloud\n' });
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(peers).toEqual([site0.routerUplinkAddress, site1.routerUplinkAddress]);
  });

  it('lets nothing leave a site except towards the cloud side, not even to another site', async () => {
    const before = await site0.blockedOutbound();
    const target = site1.machines[0]!.ip;
    const dial = ['timeout', '3', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/22"', 'dial', target];
    const result = await runInNetns(site0.machines[0]!.netns, dial);
    expect(result.code).not.toBe(0);
    expect(await site0.blockedOutbound()).toBeGreaterThan(before);
  });
});

/** Everything of a network that the host can see: namespaces, links, routes, processes, mounts. */
async function leftovers(net: { id: string; dir: string; subnet: string; uplink: string }, pids: number[]) {
  const netns = (await runChecked(['ip', 'netns', 'list']))
    .split('\n')
    .filter((line) => line.includes(`pn-${net.id}-`));
  const links = (await runChecked(['ip', '-o', 'link', 'show']))
    .split('\n')
    .filter((line) => line.includes(`pn${net.id}`));
  const uplinkPrefix = net.uplink.replace(/\.\d+$/, '.0/30');
  const routes = (await runChecked(['ip', 'route', 'show'])).split('\n').filter((line) => {
    const words = line.split(' ');
    return words.includes(net.subnet) || words.includes(uplinkPrefix);
  });
  const livePids = pids.filter((pid) => {
    try {
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  });
  const mounts: string[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${entry}/mountinfo`, 'utf8').includes(net.dir)) mounts.push(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  return { netns, links, routes, livePids, mounts, dirExists: existsSync(net.dir) };
}

const NOTHING_LEFT = { netns: [], links: [], routes: [], livePids: [], mounts: [], dirExists: false };

function describeNetwork(network: EdgeNetwork) {
  const site = network.sites[0]!;
  return {
    id: network.id,
    dir: dirname(site.machines[0]!.workDir),
    subnet: site.subnet,
    uplink: site.routerUplinkAddress,
  };
}

async function netnsPids(netns: string): Promise<number[]> {
  return (await runChecked(['ip', 'netns', 'pids', netns])).split('\n').filter(Boolean).map(Number);
}

describe('edge network teardown', () => {
  it('stop() leaves no namespace, link, route, process, mount or file behind', async () => {
    const own = await createEdgeNetwork({ sites: [{ machines: [{ password: 'teardown' }, {}] }] });
    const described = describeNetwork(own);
    const pids: number[] = [];
    for (const machine of own.sites[0]!.machines) pids.push(...(await netnsPids(machine.netns)));
    expect(pids.length).toBeGreaterThan(0);
    const during = await leftovers(described, pids);
    expect(during.mounts.length).toBeGreaterThan(0);
    expect(during.netns.length).toBeGreaterThan(0);
    expect(during.routes.length).toBeGreaterThan(0);

    await own.stop();
    expect(await leftovers(described, pids)).toEqual(NOTHING_LEFT);
  });

  it('cleans up when the owning process crashes, and sweeps what a killed owner left at the next start', async () => {
    const module = fileURLToPath(new URL('../../sandbox/network/index.ts', import.meta.url));
    const script = `
      const { createEdgeNetwork } = await import(${JSON.stringify(module)});
      const net = await createEdgeNetwork({ sites: [{ machines: [{ password: 'crash' }] }] });
      const site = net.sites[0];
      const dir = site.machines[0].workDir.replace(/\\/[^/]+$/, '');
      console.log(JSON.stringify({ id: net.id, dir, subnet: site.subnet, uplink: site.routerUplinkAddress }));
      if (process.argv[1] === 'throw') throw new Error('owner crashed');
      setInterval(() => undefined, 1000);
    `;
    type Described = ReturnType<typeof describeNetwork>;
    const owner = (mode: 'throw' | 'hang') =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, mode], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    // Resolves with the network the owner printed; 'close' comes after all of its output was read.
    const started = (child: ReturnType<typeof owner>) =>
      new Promise<Described>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as Described);
        });
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        child.once('close', (code) =>
          reject(new Error(`owner exited with ${String(code)} before printing: ${err}`)),
        );
      });
    const closed = (child: ReturnType<typeof owner>) =>
      new Promise((resolve) => child.once('close', resolve));

    const crashing = owner('throw');
    const crashed = await started(crashing);
    await closed(crashing);
    expect(await leftovers(crashed, [])).toEqual(NOTHING_LEFT);

    const killed = owner('hang');
    const orphan = await started(killed);
    const orphanPids = await netnsPids(`pn-${orphan.id}-s0-m0`);
    killed.kill('SIGKILL');
    await closed(killed);
    const abandoned = await leftovers(orphan, orphanPids);
    expect(abandoned.netns.length).toBeGreaterThan(0);
    expect(abandoned.livePids.length).toBeGreaterThan(0);

    const next = await createEdgeNetwork({ sites: [{ machines: [{}] }] });
    try {
      const swept = await leftovers(orphan, orphanPids);
      // The next network may reuse the orphan's freed address slot, so only its own names are compared.
      expect({ ...swept, routes: [] }).toEqual(NOTHING_LEFT);
    } finally {
      await next.stop();
    }
  });
});
