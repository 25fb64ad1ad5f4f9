export { createEdgeNetwork } from './edge-network';
export {
  CommandFailedError,
  run,
  runChecked,
  runInNetns,
  shellQuote,
  type RunOptions,
  type RunResult,
} from './exec';
export type {
  EdgeMachine,
  EdgeNetwork,
  EdgeNetworkOptions,
  MachineOptions,
  Site,
  SiteOptions,
} from './types';
