import { randomInt } from 'node:crypto';

/**
 * Names and addresses of one edge network. Pure: everything here is derived from the network's random
 * id and the address slots it holds, so parallel networks never collide and a later run can tell which
 * leftovers belong to which (possibly dead) network.
 */

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const ID_LENGTH = 6;

/** Every namespace of a network is named `pn-<id>-…`. */
export const NETNS_PATTERN = /^pn-([a-z0-9]{6})-/;
/** Every link a network creates in the host namespace is named `pn<id><kind><n>`. */
export const HOST_LINK_PATTERN = /^pn([a-z0-9]{6})[uc]\d*$/;
/** Routing protocol number that tags the network's host routes (see /etc/iproute2/rt_protos). */
export const ROUTE_PROTO = '233';
/** Metric of the blackhole routes that guard a slot's prefixes while no better route exists. */
export const GUARD_METRIC = '4000';

/** Site subnets are 198.18.<slot>.0/24 and router links 198.19.<slot>.0/30; slot 0 is never handed out. */
export const FIRST_SLOT = 1;
export const LAST_SLOT = 254;
/** Machines get 198.18.<slot>.<10 + index>. */
const FIRST_MACHINE_HOST = 10;
export const MAX_MACHINES_PER_SITE = 254 - FIRST_MACHINE_HOST + 1;

export function newNetworkId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i += 1) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function siteName(site: number): string {
  return `site-${site}`;
}

export function machineName(site: number, machine: number): string {
  return `edge-${site}-${machine}`;
}

export function routerNetns(id: string, site: number): string {
  return `pn-${id}-s${site}-router`;
}

export function proxyNetns(id: string, site: number): string {
  return `pn-${id}-s${site}-proxy`;
}

export function machineNetns(id: string, site: number, machine: number): string {
  return `pn-${id}-s${site}-m${machine}`;
}

/** Host end of a site's router link; at most 15 characters (IFNAMSIZ - 1). */
export function hostUplinkName(id: string, site: number): string {
  return `pn${id}u${site}`;
}

/** Namespace holding the far end of the cloud link. */
export function cloudPeerNetns(id: string): string {
  return `pn-${id}-cloud`;
}

/** The link in the host namespace that carries the cloud address. */
export function cloudLinkName(id: string): string {
  return `pn${id}c`;
}

export interface SiteAddressing {
  slot: number;
  subnet: string;
  /** The router's address on the site bridge: the default gateway of the proxy and the machines. */
  gateway: string;
  proxy: string;
  uplinkPrefix: string;
  uplinkHost: string;
  uplinkRouter: string;
  machine(index: number): string;
}

/** Parses an IPv4 /24 such as 172.21.3.0/24 into its three leading octets, or throws saying why. */
export function parseSubnet24(subnet: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  const octets = match?.slice(1, 4).map(Number);
  if (!octets || octets.some((o) => o > 255)) {
    throw new RangeError(`site subnet ${JSON.stringify(subnet)} is not an IPv4 /24 such as 172.21.3.0/24`);
  }
  if (octets[0] === 127 || octets[0] === 0 || octets[0]! >= 224) {
    throw new RangeError(`site subnet ${subnet} is loopback, unspecified or multicast; choose a unicast /24`);
  }
  return octets.join('.');
}

/**
 * Addresses of the site in `slot`. The router link always comes from the slot; the intranet is the
 * slot's 198.18.<slot>.0/24 unless the caller names its own /24 (see SiteOptions.subnet).
 */
export function siteAddressing(slot: number, subnet?: string): SiteAddressing {
  assertSlot(slot);
  const base = subnet === undefined ? `198.18.${slot}` : parseSubnet24(subnet);
  return {
    slot,
    subnet: `${base}.0/24`,
    gateway: `${base}.1`,
    proxy: `${base}.2`,
    uplinkPrefix: `198.19.${slot}.0/30`,
    uplinkHost: `198.19.${slot}.1`,
    uplinkRouter: `198.19.${slot}.2`,
    machine(index: number): string {
      if (!Number.isInteger(index) || index < 0 || index >= MAX_MACHINES_PER_SITE) {
        throw new RangeError(
          `machine index ${index} is out of range: a site holds 0..${MAX_MACHINES_PER_SITE - 1}`,
        );
      }
      return `${base}.${FIRST_MACHINE_HOST + index}`;
    },
  };
}

/** The host-side address every site routes to, carried by the network's dummy link. */
export function cloudAddress(slot: number): string {
  assertSlot(slot);
  return `198.19.${slot}.1`;
}

/** The prefixes a slot may own in the host routing table, so leftovers can be traced to their slot. */
export function slotPrefixes(slot: number): string[] {
  const a = siteAddressing(slot);
  return [a.subnet, a.uplinkPrefix];
}

/** The slot a 198.18.x.0/24 or 198.19.x.0/30 prefix belongs to, if it is one of ours. */
export function slotOfPrefix(prefix: string): number | undefined {
  const match = /^198\.1[89]\.(\d{1,3})\.0\/(24|30)$/.exec(prefix);
  if (!match?.[1]) return undefined;
  const slot = Number(match[1]);
  return slot >= FIRST_SLOT && slot <= LAST_SLOT ? slot : undefined;
}

function assertSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < FIRST_SLOT || slot > LAST_SLOT) {
    throw new RangeError(`address slot ${slot} is out of range ${FIRST_SLOT}..${LAST_SLOT}`);
  }
}
