import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface SecretsKeyProps {
  /** Stack name, for the key's alias. */
  readonly aliasName: string;
}

/** What a role does with the product's secrets: read them, or also write new values. */
export type SecretsKeyUse = 'read' | 'write';

/**
 * The customer-managed key of the product's secrets (kubeconfigs and SSH credentials). Its policy
 * keeps the account's administration of the key, and refuses the use of the key for data to every
 * principal but the product's own roles, and to them outside Secrets Manager: holding
 * secretsmanager:GetSecretValue on a product secret is not enough to read it.
 */
export class SecretsKey extends Construct {
  readonly key: Key;
  private readonly users: IRole[] = [];

  constructor(scope: Construct, id: string, props: SecretsKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Penetrator: encrypts registered cluster kubeconfigs and SSH credentials',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      alias: `alias/${props.aliasName}-secrets`,
      // The secrets outlive a stack deletion; their key must too, or they become unreadable.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Evaluated at synth, once every user is known (grant() may be called after construction).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyProductRolesUseTheKeyForData',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ReEncryptFrom'],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.list({ produce: () => this.users.map((role) => role.roleArn) }),
          },
        },
      }),
    );
  }

  /** Lets `role` use the key through Secrets Manager only: decrypt to read, data keys to write. */
  grant(role: IRole, use: SecretsKeyUse): void {
    this.users.push(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: use === 'write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );
  }
}
