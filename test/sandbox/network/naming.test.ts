import { describe, expect, it } from 'vitest';
import {
  HOST_LINK_PATTERN,
  LAST_SLOT,
  MAX_MACHINES_PER_SITE,
  NETNS_PATTERN,
  cloudLinkName,
  hostUplinkName,
  machineNetns,
  newNetworkId,
  parseSubnet24,
  siteAddressing,
  slotOfPrefix,
  slotPrefixes,
} from '../../../sandbox/network/naming';
import { parseCounterPackets, routerRuleset } from '../../../sandbox/network/router';

// Names and addresses decide what a later run may delete, so they are checked by value.

describe('edge network names', () => {
  it('fit the kernel limit for link names and are recognised by the sweep', () => {
    const id = newNetworkId();
    expect(id).toMatch(/^[a-z0-9]{6}$/);
    for (const link of [hostUplinkName(id, 99), cloudLinkName(id)]) {
      expect(link.length).toBeLessThanOrEqual(15);
      expect(HOST_LINK_PATTERN.exec(link)?.[1]).toBe(id);
    }
    expect(NETNS_PATTERN.exec(machineNetns(id, 3, 12))?.[1]).toBe(id);
    expect(HOST_LINK_PATTERN.test('eth0')).toBe(false);
    expect(NETNS_PATTERN.test('pn-foo')).toBe(false);
  });
});

describe('site addressing', () => {
  it('keeps a site inside 198.18.<slot>.0/24 and its router link inside 198.19.<slot>.0/30', () => {
    const a = siteAddressing(7);
    expect(a).toMatchObject({ subnet: '198.18.7.0/24', gateway: '198.18.7.1', proxy: '198.18.7.2' });
    expect([a.uplinkHost, a.uplinkRouter, a.uplinkPrefix]).toEqual([
      '198.19.7.1',
      '198.19.7.2',
      '198.19.7.0/30',
    ]);
    expect(a.machine(0)).toBe('198.18.7.10');
    expect(a.machine(MAX_MACHINES_PER_SITE - 1)).toBe('198.18.7.254');
    expect(() => a.machine(MAX_MACHINES_PER_SITE)).toThrow(RangeError);
    expect(() => siteAddressing(0)).toThrow(RangeError);
    expect(() => siteAddressing(LAST_SLOT + 1)).toThrow(RangeError);
  });

  it('puts a site on a caller-chosen /24 while its router link stays in the slot', () => {
    const a = siteAddressing(7, '172.21.3.0/24');
    expect(a).toMatchObject({ subnet: '172.21.3.0/24', gateway: '172.21.3.1', proxy: '172.21.3.2' });
    expect(a.uplinkPrefix).toBe('198.19.7.0/30');
    expect(a.machine(0)).toBe('172.21.3.10');
    for (const bad of [
      '172.21.3.0/16',
      '172.21.3.5/24',
      '300.1.1.0/24',
      '127.0.5.0/24',
      '239.1.1.0/24',
      'x',
    ]) {
      expect(() => parseSubnet24(bad)).toThrow(RangeError);
    }
  });

  it("maps a slot's prefixes back to the slot and nothing else to any slot", () => {
    for (const prefix of slotPrefixes(42)) expect(slotOfPrefix(prefix)).toBe(42);
    for (const other of ['192.0.2.0/24', '198.18.0.0/16', '198.18.1.0/25', '10.0.0.0/8']) {
      expect(slotOfPrefix(other)).toBeUndefined();
    }
  });
});

describe('router ruleset', () => {
  it('drops new inbound connections with the counter and masquerades outbound', () => {
    const rules = routerRuleset();
    expect(rules).toMatch(/iifname "uplink" ct state new counter name "inbound_dropped" drop/);
    expect(rules).toMatch(/oifname "uplink" masquerade/);
    expect(rules).toMatch(
      /oifname "uplink" ip daddr != 198\.19\.0\.0\/16 counter name "outbound_blocked" drop/,
    );
  });

  it('lets the host side reach the subnet of a site reachable from the cloud, and nothing else', () => {
    const rules = routerRuleset({ reachableFromCloud: true, subnet: '172.21.3.0/24' });
    const forward = rules.slice(rules.indexOf('chain forward'), rules.indexOf('chain input'));
    const accept = forward.indexOf('iifname "uplink" ct state new ip daddr 172.21.3.0/24 accept');
    expect(accept).toBeGreaterThan(0);
    expect(accept).toBeLessThan(forward.indexOf('counter name "inbound_dropped" drop'));
    // The router itself stays closed, and the site still sends only to the cloud side.
    const input = rules.slice(rules.indexOf('chain input'));
    expect(input).not.toMatch(/ct state new ip daddr/);
    expect(rules).toMatch(
      /oifname "uplink" ip daddr != 198\.19\.0\.0\/16 counter name "outbound_blocked" drop/,
    );
    expect(routerRuleset()).not.toMatch(/ct state new ip daddr/);
    expect(() => routerRuleset({ reachableFromCloud: true })).toThrow(/needs its subnet/);
  });

  it('reads the packet count from nft -j output', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        {
          counter: {
            family: 'inet',
            name: 'inbound_dropped',
            table: 'penetrator_edge',
            packets: 3,
            bytes: 180,
          },
        },
      ],
    });
    expect(parseCounterPackets(json)).toBe(3);
    expect(() => parseCounterPackets('{"nftables":[]}')).toThrow(/no counter/);
  });
});
