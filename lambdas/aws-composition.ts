/**
 * The API Lambdas' dependencies in AWS: the workflow Lambdas' own (Secrets Manager, kube clients
 * cached per cluster), plus Step Functions and the secret writer. Built on first use.
 */
import { SecretsManagerWriter, secretsManagerClient } from './adapters/secrets';
import { StepFunctionsWorkflow } from './adapters/sfn';
import { awsDependencies } from './handlers/lambda-runtime';
import type { ApiDependencies, Workflow } from './ports';

import { SECRETS_KEY_ID_ENV, STATE_MACHINE_ARN_ENV } from './api/environment';

export { STATE_MACHINE_ARN_ENV } from './api/environment';

let dependencies: ApiDependencies | undefined;

function unavailableWorkflow(): Workflow {
  const fail = () =>
    Promise.reject(
      new Error(`${STATE_MACHINE_ARN_ENV} is not set: this Lambda does not serve the tasks routes`),
    );
  return { start: fail, list: fail, describe: fail, stop: fail };
}

export function awsApiDependencies(env: NodeJS.ProcessEnv = process.env): ApiDependencies {
  if (dependencies) return dependencies;
  const base = awsDependencies();
  const arn = env[STATE_MACHINE_ARN_ENV];
  dependencies = {
    ...base,
    workflow: arn ? new StepFunctionsWorkflow(arn) : unavailableWorkflow(),
    secrets: new SecretsManagerWriter(
      base.settings.secretPrefix,
      secretsManagerClient,
      env[SECRETS_KEY_ID_ENV] || undefined,
    ),
  };
  return dependencies;
}
