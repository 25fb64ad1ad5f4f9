/**
 * `penetrator sandbox up|down|status`: the built-in sandbox (a real control plane, a proxy node and
 * sshd machines behind a one-way edge network) kept running in the background, to try `penetrator
 * run` against. `up` starts a detached supervisor and returns once the sandbox is ready.
 */
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { CliError, EXIT_FAILURE } from '../output';
import {
  DEFAULT_MACHINES,
  DEFAULT_PROXY_NODE,
  DEFAULT_SUBNET,
  machineAddresses,
  parseMachineCount,
  parseSubnet,
} from '../sandbox/options';
import { missingPrerequisites, systemProbe } from '../sandbox/prerequisites';
import { ownerAlive, readOwner, readState, sandboxStateDir, statePaths } from '../sandbox/state';
import { usageHints } from '../sandbox/usage';

// The supervisor pulls in the whole test world (control plane, kubelet, network): loaded on use only.
const supervisor = () => import('../sandbox/supervisor');

/** IPv4 addresses of this host's interfaces: a sandbox subnet must not hold any of them. */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address);
}

const subnetOption = (value: string): string => parseSubnet(value, hostAddresses());

function parseAddresses(value: string): string[] {
  const addresses = value.split(',').filter((a) => a !== '');
  if (addresses.length === 0 || addresses.some((a) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(a))) {
    throw new InvalidArgumentError(`--addresses takes comma-separated IPv4 addresses; received "${value}"`);
  }
  return addresses;
}

function checkPrerequisites(): void {
  const missing = missingPrerequisites(systemProbe());
  if (missing.length > 0) {
    process.stderr.write(missing.map((line) => `${line}\n`).join(''));
    throw new CliError('the sandbox cannot start on this machine', EXIT_FAILURE);
  }
}

async function up(options: { machines: number; subnet: string }): Promise<void> {
  checkPrerequisites();
  const stateDir = sandboxStateDir();
  const machines = machineAddresses(options.subnet, options.machines);
  process.stdout.write(`starting the sandbox (state in ${stateDir})…\n`);
  const started = Date.now();
  const { startSupervisor } = await supervisor();
  const state = await startSupervisor(
    { subnet: options.subnet, proxyNode: DEFAULT_PROXY_NODE, machines },
    stateDir,
  );
  process.stdout.write(
    `sandbox is up in ${((Date.now() - started) / 1000).toFixed(1)} s (supervisor pid ${state.pid})\n${usageHints(state)}`,
  );
}

async function down(): Promise<void> {
  const { stopSupervisor } = await supervisor();
  const outcome = await stopSupervisor(sandboxStateDir());
  switch (outcome.kind) {
    case 'none':
      process.stdout.write('no sandbox running\n');
      return;
    case 'swept':
      process.stdout.write(
        `the sandbox supervisor (pid ${outcome.pid}) was gone; removed what it left behind\n`,
      );
      return;
    case 'stopped': {
      const how = outcome.forced ? 'killed after it did not stop in time; leftovers swept' : 'stopped';
      process.stdout.write(
        `sandbox ${how} (supervisor pid ${outcome.pid}); everything it created is removed\n`,
      );
    }
  }
}

function status(): void {
  const stateDir = sandboxStateDir();
  const owner = readOwner(stateDir);
  if (!owner || !ownerAlive(owner)) {
    process.stdout.write('no sandbox running\n');
    return;
  }
  if (owner.role === 'demo') {
    process.stdout.write(`a penetrator demo (pid ${owner.pid}) is running its own sandbox\n`);
    return;
  }
  const state = readState(stateDir);
  if (state?.pid !== owner.pid) {
    process.stdout.write(
      `sandbox starting (supervisor pid ${owner.pid}); log: ${statePaths(stateDir).log}\n`,
    );
    return;
  }
  process.stdout.write(
    `sandbox running since ${state.startedAt} (supervisor pid ${state.pid})\n${usageHints(state)}`,
  );
}

export function register(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('a local cluster, proxy node and edge machines to try penetrator run against (root only)');
  sandbox
    .command('up')
    .description('start the sandbox in the background and print how to use it')
    .option(
      '--machines <n>',
      'number of edge machines (.194, .195, … of the subnet)',
      parseMachineCount,
      DEFAULT_MACHINES,
    )
    .option(
      '--subnet <cidr>',
      "the site's IPv4 /24, routed only into the sandbox",
      subnetOption,
      DEFAULT_SUBNET,
    )
    .action(up);
  sandbox.command('down').description('stop the sandbox and remove everything it created').action(down);
  sandbox.command('status').description('print the running sandbox, or "no sandbox running"').action(status);
  sandbox
    .command('supervise', { hidden: true })
    .description('the detached process that keeps the sandbox (started by sandbox up)')
    .requiredOption('--subnet <cidr>', 'site subnet', subnetOption)
    .requiredOption('--proxy-node <name>', 'proxy node name')
    .requiredOption('--addresses <list>', 'machine addresses', parseAddresses)
    .action(async (options: { subnet: string; proxyNode: string; addresses: string[] }) => {
      const { superviseSandbox } = await supervisor();
      const code = await superviseSandbox(
        { subnet: options.subnet, proxyNode: options.proxyNode, machines: options.addresses },
        sandboxStateDir(),
      );
      // Nothing may keep a finished supervisor alive: `sandbox down` waits for this process to end.
      process.exit(code);
    });
  // Usage errors of the nested verbs must reach main's handler too (see buildProgram).
  for (const command of sandbox.commands) command.exitOverride();
}
