/**
 * The nftables ruleset of a site's router namespace. It makes the network one-way: connections from
 * the site to the cloud are masqueraded behind the router's uplink address, and any connection the
 * host side tries to open into the site (or to the router itself) is counted and dropped. A site may
 * only send to the cloud side (198.19.0.0/16), so no packet of it can be meant for anywhere else.
 *
 * A site reachable from the cloud (direct mode: the workflow itself reaches the machines) lets new
 * connections from the host side through to its own subnet; the router itself stays closed, and the
 * site still sends nowhere but the cloud side (its replies go back to the host's link address).
 */

export const ROUTER_TABLE = 'penetrator_edge';
export const DROP_COUNTER = 'inbound_dropped';
export const BLOCKED_COUNTER = 'outbound_blocked';
/** Name of the router's end of its link to the host. */
export const UPLINK = 'uplink';
/** The site's bridge inside the router namespace. */
export const BRIDGE = 'br0';

/** The only destinations a site may send to: the router links and cloud addresses on the host side. */
export const CLOUD_SIDE = '198.19.0.0/16';

export interface RouterOptions {
  /** Let the host side open connections to `subnet` (the site's /24). Default false: one-way. */
  reachableFromCloud?: boolean;
  subnet?: string;
}

export function routerRuleset(options: RouterOptions = {}): string {
  if (options.reachableFromCloud && !options.subnet) {
    throw new Error('routerRuleset: a site reachable from the cloud needs its subnet');
  }
  const inbound = options.reachableFromCloud
    ? `\n    iifname "${UPLINK}" ct state new ip daddr ${options.subnet} accept`
    : '';
  return `table inet ${ROUTER_TABLE} {
  counter ${DROP_COUNTER} { }
  counter ${BLOCKED_COUNTER} { }

  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "${UPLINK}" ct state established,related accept${inbound}
    iifname "${UPLINK}" ct state new counter name "${DROP_COUNTER}" drop
    iifname "${UPLINK}" drop
    # Safety net: whatever a site sends towards the host must be for the cloud side; nothing else,
    # and no IPv6 at all, may leave the site (the host would not forward it either).
    oifname "${UPLINK}" meta nfproto ipv6 counter name "${BLOCKED_COUNTER}" drop
    oifname "${UPLINK}" ip daddr != ${CLOUD_SIDE} counter name "${BLOCKED_COUNTER}" drop
  }

  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${UPLINK}" ct state established,related accept
    iifname "${UPLINK}" ct state new counter name "${DROP_COUNTER}" drop
    iifname "${UPLINK}" drop
  }

  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${UPLINK}" masquerade
  }
}
`;
}

/** Reads the packet count of a named counter from `nft -j list counter …` output. */
export function parseCounterPackets(nftJson: string, name = DROP_COUNTER): number {
  const parsed = JSON.parse(nftJson) as {
    nftables?: Array<{ counter?: { name?: string; packets?: number } }>;
  };
  const counter = parsed.nftables?.find((entry) => entry.counter?.name === name)?.counter;
  if (counter?.packets === undefined) throw new Error(`nft output has no counter ${name}`);
  return counter.packets;
}
