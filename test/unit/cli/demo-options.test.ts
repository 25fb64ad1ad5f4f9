import { InvalidArgumentError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../cli/main';
import { runDemo } from '../../../cli/sandbox/demo';
import { startSupervisor } from '../../../cli/sandbox/supervisor';

// Stand-ins for what would start a sandbox: a command line that parsed by mistake must not start one.
vi.mock('../../../cli/sandbox/demo', () => ({ runDemo: vi.fn(() => Promise.resolve(0)) }));
vi.mock('../../../cli/sandbox/supervisor', () => ({ startSupervisor: vi.fn() }));
import {
  DEFAULT_SUBNET,
  MAX_MACHINES,
  machineAddresses,
  parseMachineCount,
  parsePollSeconds,
  parseSubnet,
} from '../../../cli/sandbox/options';

describe('sandbox and demo options', () => {
  it('takes whole machine counts within the site and refuses anything else by value', () => {
    expect(parseMachineCount('2')).toBe(2);
    expect(parseMachineCount(String(MAX_MACHINES))).toBe(MAX_MACHINES);
    for (const bad of ['0', '-1', '1.5', 'two', '', String(MAX_MACHINES + 1), '1e1']) {
      expect(() => parseMachineCount(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseMachineCount('0')).toThrow(
      '--machines takes a whole number from 1 to 50; received "0"',
    );
  });

  it('takes poll intervals as positive seconds, fractions included', () => {
    expect(parsePollSeconds('1')).toBe(1);
    expect(parsePollSeconds('0.5')).toBe(0.5);
    for (const bad of ['0', '-2', 'soon', '', '601', 'Infinity']) {
      expect(() => parsePollSeconds(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('takes a /24 written as its network address', () => {
    expect(parseSubnet(DEFAULT_SUBNET)).toBe('172.21.3.0/24');
    expect(parseSubnet(' 10.20.30.0/24 ')).toBe('10.20.30.0/24');
    for (const bad of ['172.21.3.0/16', '172.21.3.5/24', '172.21.3.0', '300.1.1.0/24', 'fd00::/64', '']) {
      expect(() => parseSubnet(bad)).toThrow(/--subnet takes an IPv4 \/24/);
    }
  });

  it("refuses subnets that hold the host's own address or the edge network's link ranges", () => {
    expect(() => parseSubnet('192.0.2.0/24', ['127.0.0.1', '192.0.2.2'])).toThrow(
      '--subnet 192.0.2.0/24 holds 192.0.2.2, an address of this host; choose a /24 the host does not use',
    );
    expect(parseSubnet('192.0.3.0/24', ['192.0.2.2'])).toBe('192.0.3.0/24');
    expect(() => parseSubnet('198.19.4.0/24')).toThrow(/edge network's own site and router-link addresses/);
    expect(() => parseSubnet('198.18.1.0/24')).toThrow(/edge network's own/);
    expect(() => parseSubnet('127.0.5.0/24')).toThrow(/loopback/);
    expect(() => parseSubnet('239.1.1.0/24')).toThrow(/multicast/);
    expect(() => parseSubnet('169.254.3.0/24')).toThrow(/link-local/);
  });

  it("numbers machines from .194 so the examples' two addresses come first", () => {
    expect(machineAddresses(DEFAULT_SUBNET, 2)).toEqual(['172.21.3.194', '172.21.3.195']);
    expect(machineAddresses('10.1.2.0/24', 3)).toEqual(['10.1.2.194', '10.1.2.195', '10.1.2.196']);
    expect(machineAddresses(DEFAULT_SUBNET, MAX_MACHINES).at(-1)).toBe('172.21.3.243');
    expect(() => machineAddresses(DEFAULT_SUBNET, 0)).toThrow(RangeError);
  });
});

describe('demo and sandbox command lines', () => {
  // Only command lines that fail to parse: a valid one would start a sandbox.
  it.each([
    [['demo', '--poll', 'soon']],
    [['demo', '--poll', '0']],
    [['demo', '--unknown']],
    [['sandbox', 'up', '--machines', '0']],
    [['sandbox', 'up', '--subnet', '172.21.3.0/16']],
    [['sandbox', 'up', '--subnet', '127.0.0.0/24']],
    [['sandbox', 'sideways']],
  ])('penetrator %j is a usage error (exit 2) that starts nothing', async (args) => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'penetrator', ...args])).toBe(2);
      expect(runDemo).not.toHaveBeenCalled();
      expect(startSupervisor).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
  });
});
