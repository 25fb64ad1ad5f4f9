import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The state machine definition as deployed, taken from the synthesized template. The template holds
 * it as a CloudFormation expression (an Fn::Join around the Lambda ARNs); here the intrinsics are
 * replaced by placeholder values so the result is plain Amazon States Language.
 */

/** Stand-ins for the pseudo parameters, shaped like real values so ARN validation accepts them. */
export const placeholderEnvironment = {
  partition: 'aws',
  region: 'us-east-1',
  accountId: '123456789012',
  urlSuffix: 'amazonaws.com',
} as const;

type Resources = Record<string, { Type?: string }>;

/** Placeholder ARN for a resource of the template, named after its logical id. */
export function placeholderArn(logicalId: string, resourceType: string | undefined): string {
  const { partition, region, accountId } = placeholderEnvironment;
  if (resourceType === 'AWS::Lambda::Function') {
    return `arn:${partition}:lambda:${region}:${accountId}:function:${logicalId}`;
  }
  const service = resourceType?.split('::')[1]?.toLowerCase() ?? 'unknown';
  return `arn:${partition}:${service}:${region}:${accountId}:${logicalId}`;
}

const pseudoParameters: Record<string, string> = {
  'AWS::Partition': placeholderEnvironment.partition,
  'AWS::Region': placeholderEnvironment.region,
  'AWS::AccountId': placeholderEnvironment.accountId,
  'AWS::URLSuffix': placeholderEnvironment.urlSuffix,
};

function resolvePart(part: unknown, resources: Resources): string {
  if (typeof part === 'string') return part;
  if (part && typeof part === 'object') {
    const ref = (part as { Ref?: unknown }).Ref;
    if (typeof ref === 'string') {
      return pseudoParameters[ref] ?? placeholderArn(ref, resources[ref]?.Type);
    }
    const getAtt = (part as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
      return placeholderArn(getAtt[0], resources[getAtt[0]]?.Type);
    }
    const join = (part as { 'Fn::Join'?: unknown })['Fn::Join'];
    if (Array.isArray(join)) return resolveJoin(join, resources);
    // The string form only, as CDK writes it for asset locations (the installer image's URI).
    const sub = (part as { 'Fn::Sub'?: unknown })['Fn::Sub'];
    if (typeof sub === 'string') return resolveSub(sub, resources);
  }
  throw new Error(
    `cannot resolve the state machine definition: received ${JSON.stringify(part)}; ` +
      'expected a string, Ref, Fn::GetAtt, Fn::Join or Fn::Sub',
  );
}

/** `${Name}` is a pseudo parameter or a Ref, `${Id.Attr}` a GetAtt, `${!Literal}` stays `${Literal}`. */
function resolveSub(template: string, resources: Resources): string {
  return template.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const [id = '', attribute] = name.split('.');
    return attribute === undefined
      ? resolvePart({ Ref: id }, resources)
      : resolvePart({ 'Fn::GetAtt': [id, attribute] }, resources);
  });
}

/** A template value (a string or Ref / Fn::GetAtt / Fn::Join) with intrinsics replaced by placeholders. */
export function resolveTemplateValue(value: unknown, resources: Resources = {}): string {
  return resolvePart(value, resources);
}

function resolveJoin(join: unknown[], resources: Resources): string {
  const [separator, parts] = join;
  if (typeof separator !== 'string' || !Array.isArray(parts)) {
    throw new Error(
      `cannot resolve Fn::Join: received ${JSON.stringify(join)}; expected [separator, [parts…]]`,
    );
  }
  return parts.map((p) => resolvePart(p, resources)).join(separator);
}

/**
 * Turns a DefinitionString (a JSON string, or an Fn::Join of strings and intrinsics) into the
 * definition object, intrinsics replaced by placeholders. `resources` (the template's) gives each
 * referenced logical id its type, so a Lambda gets a Lambda ARN.
 */
export function resolveDefinitionString(
  definitionString: unknown,
  resources: Resources = {},
): Record<string, unknown> {
  const text = resolvePart(definitionString, resources);
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || !('States' in parsed) || !('StartAt' in parsed)) {
    throw new Error(
      'the resolved definition is not a state machine: expected an object with StartAt and States',
    );
  }
  return parsed;
}

export interface Template {
  Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
}

/** The one AWS::StepFunctions::StateMachine of a template, resolved. */
export function definitionFromTemplate(template: Template): Record<string, unknown> {
  const resources = template.Resources ?? {};
  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1 || !machines[0]?.Properties) {
    throw new Error(`expected exactly one state machine in the template; found ${machines.length}`);
  }
  return resolveDefinitionString(machines[0].Properties.DefinitionString, resources);
}

/**
 * Synthesizes the real stack in-process, without bundling the Lambdas (the local runner calls the
 * handlers directly) and without cdk-nag, and returns its state machine definition.
 */
export async function loadSynthesizedDefinition(): Promise<object> {
  // Imported here so commands that never run the workflow do not load aws-cdk-lib.
  const { createApp } = await import('../../infra/create-app');
  const outdir = mkdtempSync(join(tmpdir(), 'penetrator-synth-'));
  try {
    // The local runner hands the Lambdas its own settings: this package source only lets synth pass.
    const context = { 'aws:cdk:bundling-stacks': [], 'penetrator:packageSource': 'none' };
    const { app, stack } = createApp({ context, nag: false, outdir });
    const assembly = app.synth();
    const template: unknown = assembly.getStackArtifact(stack.artifactId).template;
    return definitionFromTemplate(template as Template);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
