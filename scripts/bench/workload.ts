/**
 * What the benchmark runs: a NodeTask of N machines (addresses no machine answers on: the simulated
 * installs never connect), and which states of the definition follow a running install (the polls).
 */
import { stateLambda } from '../../statemachine/state-names';

export interface Workload {
  nodes: number;
  concurrency: number;
  pollSeconds?: number;
}

/** The i-th target: 10.100.0.1 onwards, never a network or broadcast address. */
export function benchMachineIp(i: number): string {
  return `10.${100 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
}

export function benchNodeTask(workload: Workload, proxies: string[]): Record<string, unknown> {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name: 'bench' },
    spec: {
      nodeNamePrefix: 'bench',
      targetMachines: Array.from({ length: workload.nodes }, (_, i) => benchMachineIp(i)),
      sshCredential: 'login-secret',
      ...(proxies.length === 1 ? { proxyNode: proxies[0] } : { proxyNodes: proxies }),
      installer: 'kubeadm',
      maxConcurrency: workload.concurrency,
      ...(workload.pollSeconds === undefined ? {} : { pollSeconds: workload.pollSeconds }),
    },
  };
}

type AslState = Record<string, unknown> & { Type?: string; Next?: string };
export type AslMachine = { States?: Record<string, AslState> };

function* allStates(machine: AslMachine): Generator<[string, AslState, AslMachine]> {
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    yield [name, state, machine];
    for (const branch of (state.Branches as AslMachine[] | undefined) ?? []) yield* allStates(branch);
    const processor = (state.ItemProcessor ?? state.Iterator) as AslMachine | undefined;
    if (processor) yield* allStates(processor);
  }
}

/**
 * The states that follow a running install: every Wait, every Task invoking check-install, and the
 * Choice each of those goes to. Their transitions are what polling costs.
 */
export function pollStates(definition: AslMachine): Set<string> {
  const polls = new Set<string>();
  for (const [name, state, machine] of allStates(definition)) {
    if (state.Type === 'Wait') polls.add(name);
    if (state.Type === 'Task' && stateLambda[name] === 'checkInstall') {
      polls.add(name);
      const next = state.Next === undefined ? undefined : machine.States?.[state.Next];
      if (next?.Type === 'Choice' && state.Next) polls.add(state.Next);
    }
  }
  return polls;
}
