import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecked, runInNetns, runSync } from './exec';
import { prepareMachine, startSshd, waitForSshd, type MachinePlan } from './machine';
import {
  GUARD_METRIC,
  MAX_MACHINES_PER_SITE,
  ROUTE_PROTO,
  cloudAddress as cloudAddressOf,
  cloudLinkName,
  cloudPeerNetns,
  hostUplinkName,
  machineName,
  machineNetns,
  newNetworkId,
  parseSubnet24,
  proxyNetns,
  routerNetns,
  siteAddressing,
  siteName,
  slotPrefixes,
  type SiteAddressing,
} from './naming';
import {
  allocateSlot,
  newRecord,
  registerLive,
  reserveSubnet,
  saveRecord,
  sweepStale,
  teardownSync,
  unregisterLive,
  type RunRecord,
} from './registry';
import {
  BLOCKED_COUNTER,
  BRIDGE,
  DROP_COUNTER,
  ROUTER_TABLE,
  UPLINK,
  parseCounterPackets,
  routerRuleset,
} from './router';
import type { EdgeMachine, EdgeNetwork, EdgeNetworkOptions, Site } from './types';

/**
 * Builds the one-way edge network: per site a router namespace (bridge, NAT, inbound drop), a proxy
 * namespace and one namespace per machine, each machine running a real sshd. The host ("the cloud")
 * owns a cloud address every site routes to, and routes for every site subnet into that site's router,
 * so no packet for a site address ever leaves through the host's own interfaces.
 */
export async function createEdgeNetwork(opts: EdgeNetworkOptions): Promise<EdgeNetwork> {
  validate(opts);
  sweepStale();
  const id = newNetworkId();
  const dir = join(opts.workDir ?? tmpdir(), `penetrator-edge-${id}`);
  const record = newRecord(id, dir);
  saveRecord(record);
  registerLive(record);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return await build(record, opts);
  } catch (error) {
    unregisterLive(id);
    teardownSync(record);
    throw error;
  }
}

function validate(opts: EdgeNetworkOptions): void {
  if (opts.sites.length === 0)
    throw new Error('createEdgeNetwork: at least one site is required (received 0)');
  const subnets = new Map<string, boolean>();
  opts.sites.forEach((site, index) => {
    if (site.machines.length > MAX_MACHINES_PER_SITE) {
      throw new Error(
        `createEdgeNetwork: site ${index} has ${site.machines.length} machines; at most ${MAX_MACHINES_PER_SITE} fit a /24`,
      );
    }
    if (site.subnet === undefined) return;
    const base = parseSubnet24(site.subnet);
    const oneWay = site.reachableFromCloud !== true;
    // Sites behind NAT reuse private subnets; the host can route a subnet into one site only, so
    // only one-way sites (which the host never opens connections to) may share one.
    if (subnets.has(base) && !(oneWay && subnets.get(base) === true)) {
      throw new Error(`createEdgeNetwork: sites share the subnet ${site.subnet}; only one-way sites may`);
    }
    if (!subnets.has(base)) assertSubnetUnusedByHost(site.subnet);
    subnets.set(base, oneWay);
    const seen = new Set<string>();
    site.machines.forEach((machine, m) => {
      if (machine.ip === undefined) return;
      const host = machine.ip.startsWith(`${base}.`) ? Number(machine.ip.slice(base.length + 1)) : NaN;
      if (!Number.isInteger(host) || host < 3 || host > 254 || seen.has(machine.ip)) {
        throw new Error(
          `createEdgeNetwork: sites[${index}].machines[${m}].ip ${JSON.stringify(machine.ip)} must be a unique address ${base}.3–${base}.254 (.1 is the router, .2 the proxy)`,
        );
      }
      seen.add(machine.ip);
    });
  });
}

/** A caller-chosen subnet must not be one the host itself routes (other than by its default route). */
function assertSubnetUnusedByHost(subnet: string): void {
  const base = parseSubnet24(subnet);
  const result = runSync(['ip', '-j', 'route', 'show', 'table', 'all']);
  const routes =
    result.code === 0 && result.stdout.trim() !== '' ? (JSON.parse(result.stdout) as HostRoute[]) : [];
  for (const route of routes) {
    // Our own routes belong to edge networks, whose reservations already keep subnets apart.
    if (route.dst === 'default' || route.protocol === ROUTE_PROTO) continue;
    if (overlaps24(base, route.dst)) {
      throw new Error(
        `createEdgeNetwork: subnet ${subnet} overlaps the host's route to ${route.dst}; choose another /24`,
      );
    }
  }
}

interface HostRoute {
  dst: string;
  protocol?: string;
}

function toInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** Whether the /24 `base`.0 and the route destination `dst` (a.b.c.d[/n]) share any address. */
function overlaps24(base: string, dst: string): boolean {
  const [address, lengthText] = dst.split('/');
  if (!address || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return false;
  const length = lengthText === undefined ? 32 : Number(lengthText);
  const shorter = Math.min(length, 24);
  const mask = shorter === 0 ? 0 : (0xffffffff << (32 - shorter)) >>> 0;
  return (toInt(address) & mask) >>> 0 === (toInt(`${base}.0`) & mask) >>> 0;
}

async function build(record: RunRecord, opts: EdgeNetworkOptions): Promise<EdgeNetwork> {
  const cloudSlot = allocateSlot(record);
  const siteSlots = opts.sites.map((site, index) => ({
    site,
    slot: allocateSlot(record),
    // The first site on a shared subnet gets the host's route to it; the others are reached only
    // from inside (their proxy namespace), as one-way sites are anyway.
    routesSubnet:
      site.subnet === undefined || opts.sites.findIndex((other) => other.subnet === site.subnet) === index,
  }));
  for (const { site, routesSubnet } of siteSlots)
    if (site.subnet !== undefined && routesSubnet) reserveSubnet(record, site.subnet);
  // Guards first, before any namespace or link exists: a site address can only ever be blackholed or
  // routed into its site, never sent to the default route.
  for (const { site, slot, routesSubnet } of siteSlots)
    await addGuardRoutes(record, slot, routesSubnet ? site.subnet : undefined);

  const cloudAddress = await addCloudLink(record, cloudSlot);

  const sites: Site[] = [];
  const starting: Array<{ plan: MachinePlan; proxy: string; sshd: ReturnType<typeof startSshd> }> = [];
  for (const [index, { site, slot, routesSubnet }] of siteSlots.entries()) {
    const addressing = siteAddressing(slot, site.subnet);
    const names = await buildSite(record, index, addressing, {
      reachableFromCloud: site.reachableFromCloud === true,
      routesSubnet,
    });
    const machines: EdgeMachine[] = [];
    for (const [m, options] of site.machines.entries()) {
      const plan: MachinePlan = {
        name: machineName(index, m),
        ip: options.ip ?? addressing.machine(m),
        netns: machineNetns(record.id, index, m),
        dir: join(record.dir, `s${index}-m${m}`),
        options,
      };
      await attachToSite(record, names.router, `m${m}`, plan.netns, plan.ip, addressing);
      machines.push(await prepareMachine(plan));
      const sshd = startSshd(plan);
      record.pids.push(sshd.pid);
      saveRecord(record);
      starting.push({ plan, proxy: names.proxy, sshd });
    }
    sites.push(siteView(index, addressing, names, machines, site.reachableFromCloud === true));
  }
  for (const { plan, proxy, sshd } of starting) await waitForSshd(plan, proxy, sshd);

  let stopped = false;
  return {
    id: record.id,
    cloudAddress,
    sites,
    stop(): Promise<void> {
      if (!stopped) {
        stopped = true;
        unregisterLive(record.id);
        teardownSync(record);
      }
      return Promise.resolve();
    },
  };
}

function ip(args: string[]): Promise<string> {
  return runChecked(['ip', ...args]);
}

async function addGuardRoutes(record: RunRecord, slot: number, subnet?: string): Promise<void> {
  for (const prefix of [...slotPrefixes(slot), ...(subnet === undefined ? [] : [subnet])]) {
    record.routes.push(prefix);
    saveRecord(record);
    await ip(['route', 'add', 'blackhole', prefix, 'proto', ROUTE_PROTO, 'metric', GUARD_METRIC]);
  }
}

/**
 * The cloud address lives on a host link of its own, independent of any site. The kernel here may lack
 * the dummy link type, so it is a veth whose peer idles in a namespace of the network (a veth only
 * carries traffic while both ends are up).
 */
async function addCloudLink(record: RunRecord, slot: number): Promise<string> {
  const link = cloudLinkName(record.id);
  const address = cloudAddressOf(slot);
  const peerNetns = cloudPeerNetns(record.id);
  await addNetns(record, peerNetns);
  record.hostLinks.push(link);
  saveRecord(record);
  await ip(['link', 'add', link, 'type', 'veth', 'peer', 'name', 'cloud', 'netns', peerNetns]);
  await ip(['-n', peerNetns, 'link', 'set', 'cloud', 'up']);
  await ip(['addr', 'add', `${address}/32`, 'dev', link]);
  await ip(['link', 'set', link, 'up']);
  return address;
}

async function addNetns(record: RunRecord, name: string): Promise<void> {
  record.namespaces.push(name);
  saveRecord(record);
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

interface SiteNames {
  router: string;
  proxy: string;
}

/** Router namespace with its uplink, bridge and ruleset; the proxy namespace on the bridge. */
async function buildSite(
  record: RunRecord,
  index: number,
  a: SiteAddressing,
  { reachableFromCloud, routesSubnet }: { reachableFromCloud: boolean; routesSubnet: boolean },
): Promise<SiteNames> {
  const router = routerNetns(record.id, index);
  const proxy = proxyNetns(record.id, index);
  await addNetns(record, router);
  await runChecked(['ip', 'netns', 'exec', router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

  const uplink = hostUplinkName(record.id, index);
  record.hostLinks.push(uplink);
  saveRecord(record);
  await ip(['link', 'add', uplink, 'type', 'veth', 'peer', 'name', UPLINK, 'netns', router]);
  await ip(['addr', 'add', `${a.uplinkHost}/30`, 'dev', uplink]);
  await ip(['link', 'set', uplink, 'up']);
  await ip(['-n', router, 'addr', 'add', `${a.uplinkRouter}/30`, 'dev', UPLINK]);
  await ip(['-n', router, 'link', 'set', UPLINK, 'up']);
  await ip(['-n', router, 'route', 'add', 'default', 'via', a.uplinkHost]);
  // The site's rules go in before anything hangs on the bridge.
  await runChecked(['ip', 'netns', 'exec', router, 'nft', '-f', '-'], {
    input: routerRuleset({ reachableFromCloud, subnet: a.subnet }),
  });

  await ip(['-n', router, 'link', 'add', BRIDGE, 'type', 'bridge']);
  await ip(['-n', router, 'addr', 'add', `${a.gateway}/24`, 'dev', BRIDGE]);
  await ip(['-n', router, 'link', 'set', BRIDGE, 'up']);

  if (routesSubnet) {
    record.routes.push(a.subnet);
    saveRecord(record);
    await ip(['route', 'add', a.subnet, 'via', a.uplinkRouter, 'dev', uplink, 'proto', ROUTE_PROTO]);
  }

  await attachToSite(record, router, 'proxy', proxy, a.proxy, a);
  return { router, proxy };
}

/** Creates `netns` and plugs it into the site bridge through a veth pair (router end: `port`). */
async function attachToSite(
  record: RunRecord,
  router: string,
  port: string,
  netns: string,
  address: string,
  a: SiteAddressing,
): Promise<void> {
  await addNetns(record, netns);
  // Both ends are created directly in their namespaces: no name ever appears in the host namespace.
  await ip([
    'link',
    'add',
    'name',
    port,
    'netns',
    router,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    netns,
  ]);
  await ip(['-n', router, 'link', 'set', port, 'master', BRIDGE]);
  await ip(['-n', router, 'link', 'set', port, 'up']);
  await ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', netns, 'route', 'add', 'default', 'via', a.gateway]);
}

function siteView(
  index: number,
  a: SiteAddressing,
  names: SiteNames,
  machines: EdgeMachine[],
  reachableFromCloud: boolean,
): Site {
  return {
    name: siteName(index),
    subnet: a.subnet,
    reachableFromCloud,
    routerNetns: names.router,
    proxyNetns: names.proxy,
    proxyAddress: a.proxy,
    routerUplinkAddress: a.uplinkRouter,
    machines,
    droppedInbound: () => readCounter(names.router, DROP_COUNTER),
    blockedOutbound: () => readCounter(names.router, BLOCKED_COUNTER),
  };
}

async function readCounter(router: string, name: string): Promise<number> {
  const result = await runInNetns(router, ['nft', '-j', 'list', 'counter', 'inet', ROUTER_TABLE, name]);
  if (result.code !== 0) throw new Error(`cannot read counter ${name} of ${router}: ${result.stderr.trim()}`);
  return parseCounterPackets(result.stdout, name);
}
