/** The state machine the tasks routes start; set by the CDK stack on the tasks Lambda only. */
export const STATE_MACHINE_ARN_ENV = 'PENETRATOR_STATE_MACHINE_ARN';

/**
 * The customer-managed KMS key new product secrets are encrypted with; set by the CDK stack on the
 * API Lambdas that write secrets. Unset (local runner), Secrets Manager uses its AWS-managed key.
 */
export const SECRETS_KEY_ID_ENV = 'PENETRATOR_SECRETS_KEY_ID';

/**
 * The IAM roles that may read the secrets a writer Lambda stores, as comma-separated role ARNs: every
 * secret it writes gets a resource policy denying GetSecretValue to anyone else (ADR 0017). Set by
 * the stack on the credentials and the clusters Lambda, each with the readers of its kind.
 */
export const SecretReaderEnv = {
  credentials: 'PENETRATOR_CREDENTIAL_READERS',
  clusters: 'PENETRATOR_CLUSTER_READERS',
} as const;
