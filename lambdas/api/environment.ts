/** The state machine the tasks routes start; set by the CDK stack on the tasks Lambda only. */
export const STATE_MACHINE_ARN_ENV = 'PENETRATOR_STATE_MACHINE_ARN';

/**
 * The customer-managed KMS key new product secrets are encrypted with; set by the CDK stack on the
 * API Lambdas that write secrets. Unset (local runner), Secrets Manager uses its AWS-managed key.
 */
export const SECRETS_KEY_ID_ENV = 'PENETRATOR_SECRETS_KEY_ID';
