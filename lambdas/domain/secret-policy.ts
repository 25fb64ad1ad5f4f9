/**
 * The resource policy every product secret carries: nobody may read its value but the product's
 * own reader roles. Identity policies already grant the read to those roles alone; this closes the
 * other doors (an administrator's broad `secretsmanager:*`, a role added later to the account),
 * so a credential or kubeconfig leaves Secrets Manager only into the workflow that needs it.
 */

/** The policy document, as PutResourcePolicy takes it; `readers` are IAM role ARNs. */
export function secretReadPolicy(readers: readonly string[]): string {
  if (readers.length === 0) throw new Error('a secret read policy needs at least one reader role');
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OnlyPenetratorReadersGetTheValue',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        // aws:PrincipalArn is the role's ARN for every session of that role, Lambda's included.
        Condition: { StringNotEquals: { 'aws:PrincipalArn': [...readers].sort() } },
      },
    ],
  });
}

/** The readers variable's value (role ARNs separated by commas) as a list; empty entries dropped. */
export function readerRoles(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
}
