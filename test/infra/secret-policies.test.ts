/**
 * The secret read policies in the template: each writer Lambda is told exactly the roles that may
 * read the kind of secret it writes (the roles granted GetSecretValue on it, no more, no fewer), and
 * may set a secret's resource policy only under its own prefix.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretReaderEnv } from '../../lambdas/api/environment';
import { synthTemplate } from './helpers';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
type Resource = { Type: string; Properties: Record<string, unknown> };
type Kind = keyof typeof SecretReaderEnv;

let template: Template;

beforeAll(() => {
  template = synthTemplate();
});

function resourcesOfType(type: string): Array<[string, Resource]> {
  return Object.entries(template.findResources(type)) as Array<[string, Resource]>;
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Each Lambda: its description, its role's logical id, its environment and its role's statements. */
function lambdas() {
  const policies = resourcesOfType('AWS::IAM::Policy');
  return resourcesOfType('AWS::Lambda::Function').map(([, fn]) => {
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = policies
      .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const env = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    return { description: String(fn.Properties.Description), roleId, env: env ?? {}, statements };
  });
}

/** Whether the statement lets its role do `action` on secrets of `kind`. */
function grants(statement: Statement, action: string, kind: Kind): boolean {
  return (
    statement.Effect === 'Allow' &&
    list(statement.Action).includes(action) &&
    list(statement.Resource).some((r) => JSON.stringify(r).includes(`:secret:penetrator/${kind}/*`))
  );
}

/** The role ids a comma-joined list of role ARNs in the template names, in order. */
function rolesNamed(value: unknown): string[] {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  expect(join[0]).toBe('');
  const parts = join[1].filter((part) => part !== ',');
  expect(join[1].filter((part) => part === ',')).toHaveLength(parts.length - 1);
  return parts.map((part) => {
    const [roleId, attribute] = (part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    expect(attribute).toBe('Arn');
    return roleId;
  });
}

describe('secret read policies', () => {
  it.each(['credentials', 'clusters'] as const)(
    'tell the %s writer, and no other Lambda, exactly the roles that read its secrets',
    (kind) => {
      const all = lambdas();
      const told = all.filter((l) => l.env[SecretReaderEnv[kind]] !== undefined);
      const writers = all.filter((l) =>
        l.statements.some((s) => grants(s, 'secretsmanager:PutSecretValue', kind)),
      );
      expect(writers).toHaveLength(1);
      expect(told.map((l) => l.description)).toEqual(writers.map((l) => l.description));
      const readers = all
        .filter((l) => l.statements.some((s) => grants(s, 'secretsmanager:GetSecretValue', kind)))
        .map((l) => l.roleId);
      expect(readers.length).toBeGreaterThan(kind === 'credentials' ? 1 : 8);
      expect(rolesNamed(told[0]!.env[SecretReaderEnv[kind]]).sort()).toEqual(readers.sort());
    },
  );

  it.each(['credentials', 'clusters'] as const)(
    'let only the %s writer set a resource policy, and only on its own kind',
    (kind) => {
      const other: Kind = kind === 'credentials' ? 'clusters' : 'credentials';
      const setting = lambdas().filter((l) =>
        l.statements.some((s) => grants(s, 'secretsmanager:PutResourcePolicy', kind)),
      );
      expect(setting).toHaveLength(1);
      expect(setting[0]!.env[SecretReaderEnv[kind]]).toBeDefined();
      expect(setting[0]!.statements.some((s) => grants(s, 'secretsmanager:PutResourcePolicy', other))).toBe(
        false,
      );
    },
  );
});
