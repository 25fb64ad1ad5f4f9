import { createRequire } from 'node:module';
import { Template } from 'aws-cdk-lib/assertions';
import { definitionFromTemplate } from '../../cli/local/definition';
import { createApp } from '../../infra/create-app';

/** Assertion tests check the template, not the bundles: bundling is skipped (npm run synth does it). */
export const skipBundling = {
  'aws:cdk:bundling-stacks': [],
  // The stack refuses to synthesize without a package source: the tests give a plausible one.
  'penetrator:packageSource': 'url:https://packages.example.com/edgeadm-linux-{arch}-v0.9.0.tgz',
  'penetrator:packageSha256': `amd64=${'a'.repeat(64)},arm64=${'b'.repeat(64)}`,
};

export function synthTemplate(context: Record<string, unknown> = {}): Template {
  const { stack } = createApp({ context: { ...skipBundling, ...context }, nag: false });
  return Template.fromStack(stack);
}

export type AslState = Record<string, unknown> & {
  Type: string;
  Retry?: Array<Record<string, unknown>>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string | null }>;
  Next?: string;
};
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

/** The state machine's DefinitionString as JSON, intrinsics replaced as the local runner does. */
export function definitionOf(template: Template): AslDefinition {
  return definitionFromTemplate(template.toJSON()) as unknown as AslDefinition;
}

export function stateOf(definition: { States: Record<string, AslState> }, name: string): AslState {
  const state = definition.States[name];
  if (!state) throw new Error(`no state "${name}" in ${Object.keys(definition.States).join(', ')}`);
  return state;
}

type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};
// asl-validator ships CommonJS without type declarations.
export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;
