/** What one edge machine looks like to the tests: a real sshd in its own network and mount namespace. */
export interface MachineOptions {
  /** Root's password; password login is enabled only when one is given. */
  password?: string;
  /** OpenSSH public key lines accepted for root. */
  authorizedKeys?: string[];
  /** What `uname -m` prints on the machine: x86_64 (default), aarch64, or anything else to test unsupported arches. */
  arch?: string;
  /** When true, sshd accepts no credential at all (root is denied). */
  refuseLogin?: boolean;
  /** The machine's address inside its site's subnet (default: .10 + its index). */
  ip?: string;
  /**
   * How long the stand-in join pauses (after its checks, before discovery), so that a test can act
   * while a join runs: stop its Job, start another install. Default 0.
   */
  joinDelayMs?: number;
}

export interface SiteOptions {
  machines: MachineOptions[];
  /**
   * The site's intranet as an IPv4 /24 (default: 198.18.<slot>.0/24), e.g. the addresses a NodeTask
   * names. It exists only inside the network's namespaces; the host routes it into the site's router.
   */
  subnet?: string;
  /**
   * The cloud (the host) may open connections to the site's machines, as direct mode needs: the
   * router forwards new connections from its uplink to the subnet. Default false: one-way.
   */
  reachableFromCloud?: boolean;
}

export interface EdgeNetworkOptions {
  sites: SiteOptions[];
  /** Parent directory of the network's files (default: the OS temp dir). */
  workDir?: string;
}

export interface EdgeMachine {
  name: string;
  ip: string;
  netns: string;
  arch: string;
  /** `SHA256:…` fingerprint of the machine's ed25519 host key. */
  hostKeyFingerprint: string;
  /** `<ip> ssh-ed25519 AAAA…`, a known_hosts line for StrictHostKeyChecking=yes. */
  knownHostsLine: string;
  /** The machine's private directory on the host (keys, sshd_config, logs, state). */
  workDir: string;
  /** Host path of the machine's /etc/kubernetes (where the stand-in join writes its state). */
  stateDir: string;
  /**
   * Host path of the stand-in join's journal on the machine: one JSON line per join started and
   * per join ended (`{ event, pid, at, outcome? }`), kept across resets (see sandbox/edge/join-cli.ts).
   */
  joinJournal: string;
}

export interface Site {
  name: string;
  /** The site's intranet, e.g. 198.18.3.0/24. */
  subnet: string;
  /** Whether the host may open connections to the site's machines (SiteOptions.reachableFromCloud). */
  reachableFromCloud: boolean;
  routerNetns: string;
  proxyNetns: string;
  /** The proxy namespace's address on the site intranet. */
  proxyAddress: string;
  /** The router's address on its link to the host: every connection leaving the site comes from it (masquerade). */
  routerUplinkAddress: string;
  machines: EdgeMachine[];
  /** Packets of connections the host tried to open into the site, dropped and counted by the router. */
  droppedInbound(): Promise<number>;
  /** Packets the router refused to send out because they were not for the cloud side (198.19.0.0/16). */
  blockedOutbound(): Promise<number>;
}

export interface EdgeNetwork {
  /** Short random id carried by every namespace and link name of this network. */
  id: string;
  /** An address of the host namespace that every site routes to (the apiserver advertises it). */
  cloudAddress: string;
  sites: Site[];
  stop(): Promise<void>;
}
