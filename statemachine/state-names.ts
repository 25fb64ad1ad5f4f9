import type { LambdaName } from '../lambdas/domain/contracts';

/**
 * Every state name of the workflow. They are what an operator reads in the Step Functions console
 * graph and in the execution history, and what the local runner keys its overrides by, so they are
 * written as sentences and never derived from construct ids.
 */
export const StateNames = {
  planTask: 'Plan task',
  takeClusterLock: 'Take cluster lock',
  prepareCluster: 'Prepare cluster',
  installNodes: 'Install nodes',
  installNode: 'Install node',
  startInstall: 'Start install',
  waitForInstall: 'Wait for install',
  checkInstall: 'Check install',
  nodeInstalled: 'Node installed',
  recordSuccess: 'Record success',
  recordFailure: 'Record failure',
  summarizeTask: 'Summarize task',
  releaseCluster: 'Release cluster',
  allNodesInstalled: 'All nodes installed?',
  taskSucceeded: 'Task succeeded',
  taskFailed: 'Task failed',
  cleanUpAfterError: 'Clean up after error',
  taskAborted: 'Task aborted',
} as const;

export type StateName = (typeof StateNames)[keyof typeof StateNames];

/** Which Lambda each Task state invokes: the local runner maps a Task state to its handler through it. */
export const stateLambda: Record<string, LambdaName> = {
  [StateNames.planTask]: 'plan',
  [StateNames.takeClusterLock]: 'lock',
  [StateNames.prepareCluster]: 'prepare',
  [StateNames.startInstall]: 'startInstall',
  [StateNames.checkInstall]: 'checkInstall',
  [StateNames.summarizeTask]: 'summarize',
  [StateNames.releaseCluster]: 'cleanup',
  [StateNames.cleanUpAfterError]: 'cleanup',
};
