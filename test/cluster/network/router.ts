/**
 * The nftables ruleset of a site's router namespace. It makes the network one-way: connections from
 * the site to the cloud are masqueraded behind the router's uplink address, and any connection the
 * host side tries to open into the site (or to the router itself) is counted and dropped.
 */

export const ROUTER_TABLE = 'penetrator_edge';
export const DROP_COUNTER = 'inbound_dropped';
/** Name of the router's end of its link to the host. */
export const UPLINK = 'uplink';
/** The site's bridge inside the router namespace. */
export const BRIDGE = 'br0';

export function routerRuleset(): string {
  const guard = (hook: 'forward' | 'input'): string => `
  chain ${hook} {
    type filter hook ${hook} priority filter; policy accept;
    iifname "${UPLINK}" ct state established,related accept
    iifname "${UPLINK}" ct state new counter name "${DROP_COUNTER}" drop
    iifname "${UPLINK}" drop
  }`;
  return `table inet ${ROUTER_TABLE} {
  counter ${DROP_COUNTER} { }
${guard('forward')}
${guard('input')}

  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${UPLINK}" masquerade
  }
}
`;
}

/** Reads the packet count of the drop counter from `nft -j list counter …` output. */
export function parseCounterPackets(nftJson: string): number {
  const parsed = JSON.parse(nftJson) as {
    nftables?: Array<{ counter?: { name?: string; packets?: number } }>;
  };
  const counter = parsed.nftables?.find((entry) => entry.counter?.name === DROP_COUNTER)?.counter;
  if (counter?.packets === undefined) throw new Error(`nft output has no counter ${DROP_COUNTER}`);
  return counter.packets;
}
