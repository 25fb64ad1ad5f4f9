import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { WORK_OBJECTS_PREFIX } from '../../lambdas/domain/work-objects';

export interface WorkBucketProps {
  /** The longest an execution may run: its objects must outlive it (Summarize reads them at the end). */
  readonly executionTimeout: Duration;
}

/** Days an execution's objects are kept after its deadline, for looking into a finished task. */
const KEEP_AFTER_DEADLINE_DAYS = 7;

/**
 * The task's unbounded data (ADR 0019): Plan writes the work list, the Distributed Map reads it and
 * writes every node's result, Summarize reads those. Names, addresses and outcomes only — never a
 * secret — so the bucket needs no key of its own; it is private, TLS-only, encrypted at rest, and its
 * objects expire on their own. Each reader or writer is granted exactly its verb on `tasks/*`.
 */
export class WorkBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: WorkBucketProps) {
    super(scope, id);
    const deadlineDays = Math.ceil(props.executionTimeout.toHours({ integral: false }) / 24);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // CloudFormation cannot delete a bucket that holds objects; they expire on their own anyway.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-task-objects',
          prefix: WORK_OBJECTS_PREFIX,
          expiration: Duration.days(deadlineDays + KEEP_AFTER_DEADLINE_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Transient task data (names, addresses, outcomes) that expires on its own; every write and read is made by the workflow and its Lambdas, whose calls CloudTrail records.',
    });
  }

  /** `s3:GetObject` (read) or `s3:PutObject` (write) on the task objects, nothing else. */
  grant(grantee: IGrantable, access: 'read' | 'write'): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [access === 'read' ? 's3:GetObject' : 's3:PutObject'],
        resources: [this.bucket.arnForObjects(`${WORK_OBJECTS_PREFIX}*`)],
      }),
    );
  }
}
