import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORK_BUCKET_ENV } from '../../lambdas/domain/work-objects';
import { synthTemplate } from './helpers';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type Resource = { Type: string; Properties: Record<string, unknown> };

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

function resourcesOfType(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

/** S3 statements of the role of the Lambda whose description matches. */
function s3Statements(template: Template, description: RegExp): Statement[] {
  const [fn] = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  if (!fn) throw new Error(`no Lambda whose description matches ${description}`);
  const roleId = (fn[1].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
    .filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
}

function environmentOf(template: Template, description: RegExp): Record<string, unknown> {
  const [fn] = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  return (
    (fn?.[1].Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

describe('the work bucket', () => {
  let template: Template;
  let bucketId: string;

  beforeAll(() => {
    template = synthTemplate({ 'penetrator:executionTimeoutHours': 48 });
    const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
    if (buckets.length !== 1) throw new Error(`expected one bucket, found ${buckets.length}`);
    bucketId = buckets[0]![0];
  }, 120_000);

  it('is private, encrypted at rest, TLS-only and kept when the stack is deleted', () => {
    expect(() =>
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
        }),
      }),
    ).not.toThrow();
    expect(() =>
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      }),
    ).not.toThrow();
  });

  it("expires the task objects a week after the longest execution's deadline", () => {
    expect(() =>
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              Prefix: 'tasks/',
              Status: 'Enabled',
              ExpirationInDays: 2 + 7,
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          ],
        },
      }),
    ).not.toThrow();
  });

  it('lets Plan only write, Prepare and Summarize only read, task objects, and no other Lambda touch them', () => {
    const objects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/tasks/*']] };
    const expected: Array<[RegExp, string[]]> = [
      [/^Validates a NodeTask/, ['s3:PutObject']],
      [/^Creates the task object/, ['s3:GetObject']],
      [/^Records the task's outcome/, ['s3:GetObject']],
      [/^Takes the per-cluster lock/, []],
      [/^Starts \(or adopts\)/, []],
      [/^Checks one node/, []],
      [/^Deletes the credential Secret and releases the lock$/, []],
    ];
    for (const [description, actions] of expected) {
      const statements = s3Statements(template, description);
      expect({ [String(description)]: statements.flatMap(actionsOf) }).toEqual({
        [String(description)]: actions,
      });
      for (const s of statements) expect(s.Resource).toEqual(objects);
    }
  });

  it('is named to exactly the Lambdas that use it', () => {
    for (const d of [/^Validates a NodeTask/, /^Creates the task object/, /^Records the task's outcome/]) {
      expect(environmentOf(template, d)[WORK_BUCKET_ENV]).toEqual({ Ref: bucketId });
    }
    for (const d of [/^Takes the per-cluster lock/, /^Starts \(or adopts\)/, /^Checks one node/]) {
      expect(environmentOf(template, d)).not.toHaveProperty(WORK_BUCKET_ENV);
    }
  });
});
