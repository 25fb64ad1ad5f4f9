/** The use-case behind each of the workflow's Lambdas, by its name in contracts.ts. */
import type { LambdaName } from '../domain/contracts';
import type { Dependencies } from '../ports';
import { checkInstall } from './check-install';
import { cleanup } from './cleanup';
import { lock } from './lock';
import { plan } from './plan';
import { prepare } from './prepare';
import { startInstall } from './start-install';
import { summarize } from './summarize';

export type UseCase = (deps: Dependencies, payload: unknown) => Promise<unknown>;

export const useCases: Record<LambdaName, UseCase> = {
  plan,
  lock,
  prepare,
  startInstall,
  checkInstall,
  summarize,
  cleanup,
};
