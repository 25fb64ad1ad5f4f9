/**
 * Command-line values of `penetrator demo` and `penetrator sandbox`, and the addresses a sandbox
 * gives its machines. Pure: the host's own addresses are passed in, so tests need no network.
 */
import { InvalidArgumentError } from 'commander';

/** The seed examples' site: examples/*.yaml name these addresses, this proxy node and this credential. */
export const DEFAULT_SUBNET = '172.21.3.0/24';
export const DEFAULT_PROXY_NODE = 'vm-2-117-centos';
export const CREDENTIAL_NAME = 'login-secret';
export const DEFAULT_MACHINES = 2;
/** Machines get consecutive addresses from .194 (the examples' first machine) up to .243. */
export const FIRST_MACHINE_HOST = 194;
export const MAX_MACHINES = 50;
/** The demo polls a running install every second: the sandbox installs in a few seconds. */
export const DEFAULT_DEMO_POLL_SECONDS = 1;

/** `--machines N`: an integer in 1..MAX_MACHINES. */
export function parseMachineCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_MACHINES) {
    throw new InvalidArgumentError(
      `--machines takes a whole number from 1 to ${MAX_MACHINES}; received "${value}"`,
    );
  }
  return n;
}

/** `--poll SECONDS`: a number of seconds > 0 (fractions allowed). */
export function parsePollSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 600) {
    throw new InvalidArgumentError(`--poll takes a number of seconds in (0, 600]; received "${value}"`);
  }
  return n;
}

function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Ranges a sandbox subnet may not take: the edge network's own link ranges and special-purpose ones. */
const RESERVED: ReadonlyArray<{ prefix: string; bits: number; why: string }> = [
  { prefix: '0.0.0.0', bits: 8, why: 'is "this network"' },
  { prefix: '127.0.0.0', bits: 8, why: 'is loopback' },
  { prefix: '169.254.0.0', bits: 16, why: 'is link-local' },
  { prefix: '198.18.0.0', bits: 15, why: "holds the edge network's own site and router-link addresses" },
  { prefix: '224.0.0.0', bits: 3, why: 'is multicast or reserved' },
];

function inPrefix(address: number, prefix: string, bits: number): boolean {
  const base = ipv4ToNumber(prefix) ?? 0;
  const size = 2 ** (32 - bits);
  return address >= base && address < base + size;
}

/**
 * `--subnet CIDR`: an IPv4 /24 written as its network address (172.21.3.0/24). The host routes it
 * into the sandbox's namespaces, so it must not hold one of the host's own addresses: that would
 * take the host's network away from it.
 */
export function parseSubnet(value: string, hostAddresses: readonly string[] = []): string {
  const match = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.0\/24$/.exec(value.trim());
  const base = match?.[1];
  const network = base === undefined ? undefined : ipv4ToNumber(`${base}.0`);
  if (base === undefined || network === undefined) {
    throw new InvalidArgumentError(
      `--subnet takes an IPv4 /24 written as its network address, such as ${DEFAULT_SUBNET}; received "${value}"`,
    );
  }
  const reserved = RESERVED.find((r) => inPrefix(network, r.prefix, r.bits));
  if (reserved) {
    throw new InvalidArgumentError(`--subnet ${value}: ${reserved.prefix}/${reserved.bits} ${reserved.why}`);
  }
  const clash = hostAddresses.find((a) => {
    const n = ipv4ToNumber(a);
    return n !== undefined && inPrefix(n, `${base}.0`, 24);
  });
  if (clash !== undefined) {
    throw new InvalidArgumentError(
      `--subnet ${value} holds ${clash}, an address of this host; choose a /24 the host does not use`,
    );
  }
  return `${base}.0/24`;
}

/** The sandbox machines' addresses: .194, .195, … of the subnet, so the examples' two come first. */
export function machineAddresses(subnet: string, count: number): string[] {
  const base = parseSubnet(subnet).replace(/\.0\/24$/, '');
  if (!Number.isInteger(count) || count < 1 || count > MAX_MACHINES) {
    throw new RangeError(`a sandbox holds 1 to ${MAX_MACHINES} machines; received ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `${base}.${FIRST_MACHINE_HOST + i}`);
}
