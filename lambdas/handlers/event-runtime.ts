/**
 * What the two event Lambdas share: the workflow Lambdas' dependencies (Secrets Manager, kube clients
 * cached per cluster) plus the state machine on Step Functions, whose ARN the stack sets.
 */
import { StepFunctionsWorkflow } from '../adapters/sfn';
import { STATE_MACHINE_ARN_ENV } from '../aws-composition';
import type { Dependencies, Workflow } from '../ports';
import { awsDependencies } from './lambda-runtime';

let workflow: Workflow | undefined;

/** Built on first use, so a missing setting fails the call with its message, visibly. */
export function eventDependencies(
  env: NodeJS.ProcessEnv = process.env,
): Dependencies & { workflow: Workflow } {
  if (!workflow) {
    const arn = env[STATE_MACHINE_ARN_ENV];
    if (!arn) throw new Error(`${STATE_MACHINE_ARN_ENV} is not set: the stack sets it on the event Lambdas`);
    workflow = new StepFunctionsWorkflow(arn);
  }
  return { ...awsDependencies(), workflow };
}
