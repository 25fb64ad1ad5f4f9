// Every function's environment as the template sets it, parsed by the schema of the handler it runs
// (lambdas/function-environment.ts): a variable the stack forgets, misspells or adds fails here.
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveTemplateValue, type Template as TemplateJson } from '../../cli/local/definition';
import { createApp } from '../../infra/create-app';
import type { PenetratorFunction } from '../../infra/constructs/penetrator-function';
import type { PenetratorStack } from '../../infra/penetrator-stack';
import { STATE_MACHINE_ARN_ENV } from '../../lambdas/api/environment';
import { LambdaNames } from '../../lambdas/domain/contracts';
import { type FunctionKind, parseFunctionEnvironment } from '../../lambdas/function-environment';
import { SettingsEnv } from '../../lambdas/settings';
import { skipBundling } from './helpers';

type Variables = Record<string, string>;

/** Each function of the stack with the kind of handler it runs. */
function functionKinds(stack: PenetratorStack): Array<[string, PenetratorFunction, FunctionKind]> {
  return [
    ...LambdaNames.map((name): [string, PenetratorFunction, FunctionKind] => [
      name,
      stack.functions[name],
      name === 'summarize' ? 'summarize' : name === 'plan' || name === 'prepare' ? 'workList' : 'workflow',
    ]),
    ['tasks API', stack.api.functions.tasks, 'tasksApi'],
    ['credentials API', stack.api.functions.credentials, 'api'],
    ['clusters API', stack.api.functions.clusters, 'api'],
    ['reinstall', stack.events.reinstall, 'events'],
    ['execution ended', stack.events.executionEnded, 'events'],
    ['sync', stack.sync.function, 'events'],
  ];
}

describe('the functions’ environments', () => {
  let stack: PenetratorStack;
  let template: TemplateJson;

  beforeAll(() => {
    stack = createApp({ context: skipBundling, nag: false }).stack;
    template = Template.fromStack(stack).toJSON();
  });

  function variablesOf(fn: PenetratorFunction): Variables {
    const id = stack.getLogicalId(fn.function.node.defaultChild as CfnElement);
    const resources = template.Resources ?? {};
    const props = resources[id]?.Properties as { Environment?: { Variables?: Record<string, unknown> } };
    const variables = Object.entries(props.Environment?.Variables ?? {});
    return Object.fromEntries(variables.map(([k, v]) => [k, resolveTemplateValue(v, resources)]));
  }

  it('cover every function of the template', () => {
    const functions = Object.values(template.Resources ?? {}).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functionKinds(stack)).toHaveLength(functions.length);
  });

  it('are each read in full by the handler the function runs', () => {
    const problems: Record<string, string> = {};
    for (const [name, fn, kind] of functionKinds(stack)) {
      try {
        parseFunctionEnvironment(kind, variablesOf(fn));
      } catch (error) {
        problems[name] = (error as Error).message;
      }
    }
    expect(problems).toEqual({});
  });

  it('fail when a variable is misspelled', () => {
    const env = variablesOf(stack.functions.plan);
    const { [SettingsEnv.installerImage]: image, ...rest } = env;
    expect(() => parseFunctionEnvironment('workflow', { ...rest, PENETRATOR_INSTALER_IMAGE: image })).toThrow(
      /PENETRATOR_INSTALLER_IMAGE: Invalid input[\s\S]*PENETRATOR_INSTALER_IMAGE: not read by this function/,
    );
  });

  it('fail when a variable is missing', () => {
    const env = variablesOf(stack.api.functions.tasks);
    delete env[STATE_MACHINE_ARN_ENV];
    expect(() => parseFunctionEnvironment('tasksApi', env)).toThrow(/PENETRATOR_STATE_MACHINE_ARN/);
  });

  it('fail when a value is not a setting', () => {
    const env = { ...variablesOf(stack.functions.lock), [SettingsEnv.packageSource]: '{"kind":"ftp"}' };
    expect(() => parseFunctionEnvironment('workflow', env)).toThrow(/packageSource.kind: received "ftp"/);
  });
});
