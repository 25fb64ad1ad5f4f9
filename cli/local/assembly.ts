/**
 * The synthesized cloud assembly as the local runner uses it: the template, the state machine
 * definition, and every Lambda's artifact (its bundle directory, handler, environment, timeout)
 * exactly as the template deploys them.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LambdaName } from '../../lambdas/domain/contracts';
import { stateLambda } from '../../statemachine/state-names';
import { definitionFromTemplate, resolveTemplateValue, type Template } from './definition';

/** One deployed function as the template describes it. */
export interface BundledFunction {
  logicalId: string;
  description: string;
  /** The bundle directory in the assembly (what Lambda unzips to LAMBDA_TASK_ROOT). */
  assetDir: string;
  /** `index.handler`. */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memorySize: number;
  /** The template's variables, intrinsics replaced by placeholder values as in the definition. */
  environment: Record<string, string>;
}

export interface SynthesizedAssembly {
  outdir: string;
  template: Template;
  definition: Record<string, unknown>;
  /** Every bundled function of the template, by logical id. */
  functions: Record<string, BundledFunction>;
  /** Removes the assembly directory. */
  dispose: () => void;
}

type FunctionResource = {
  Type?: string;
  Properties?: {
    Code?: { S3Key?: unknown };
    Handler?: unknown;
    Runtime?: unknown;
    Timeout?: unknown;
    MemorySize?: unknown;
    Description?: unknown;
    Environment?: { Variables?: Record<string, unknown> };
  };
};

type Resources = NonNullable<Template['Resources']>;

function bundledFunction(
  logicalId: string,
  props: NonNullable<FunctionResource['Properties']>,
  outdir: string,
  resources: Resources,
): BundledFunction {
  const key = props.Code?.S3Key;
  const hash = typeof key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(key)?.[1] : undefined;
  if (!hash) {
    throw new Error(
      `function ${logicalId}: received Code.S3Key ${JSON.stringify(key)}; expected <asset hash>.zip of a bundled asset`,
    );
  }
  const variables = Object.entries(props.Environment?.Variables ?? {});
  return {
    logicalId,
    description: typeof props.Description === 'string' ? props.Description : '',
    assetDir: join(outdir, `asset.${hash}`),
    handler: typeof props.Handler === 'string' ? props.Handler : 'index.handler',
    runtime: typeof props.Runtime === 'string' ? props.Runtime : '',
    // CloudFormation's defaults when the template leaves them out.
    timeoutSeconds: typeof props.Timeout === 'number' ? props.Timeout : 3,
    memorySize: typeof props.MemorySize === 'number' ? props.MemorySize : 128,
    environment: Object.fromEntries(variables.map(([k, v]) => [k, resolveTemplateValue(v, resources)])),
  };
}

/** The bundled functions of a template whose assets are in `outdir` (asset.<hash>, <hash>.zip in S3). */
export function bundledFunctions(template: Template, outdir: string): Record<string, BundledFunction> {
  const resources = template.Resources ?? {};
  const functions: Record<string, BundledFunction> = {};
  for (const [logicalId, resource] of Object.entries(resources) as Array<[string, FunctionResource]>) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    functions[logicalId] = bundledFunction(logicalId, resource.Properties ?? {}, outdir, resources);
  }
  return functions;
}

/**
 * Which function each workflow Lambda is: the one its Task states invoke in the definition
 * (payloadResponseOnly puts the function's ARN, here a placeholder named by logical id, in Resource).
 * Fails when two states of one Lambda name invoke different functions, or one is missing.
 */
export function workflowFunctions(
  definition: Record<string, unknown>,
  functions: Record<string, BundledFunction>,
): Record<LambdaName, BundledFunction> {
  const found: Partial<Record<LambdaName, BundledFunction>> = {};
  for (const [stateName, state] of taskStates(definition)) {
    const name = stateLambda[stateName];
    const arn = typeof state.Resource === 'string' ? state.Resource : '';
    const fn = functions[arn.slice(arn.lastIndexOf(':') + 1)];
    if (!name || !fn) {
      throw new Error(
        `Task state "${stateName}": received Resource ${arn || '(none)'}; expected a bundled function of the template`,
      );
    }
    const earlier = found[name];
    if (earlier && earlier !== fn) {
      throw new Error(`Lambda ${name} is invoked as both ${earlier.logicalId} and ${fn.logicalId}`);
    }
    found[name] = fn;
  }
  const missing = Object.values(stateLambda).filter((name) => !found[name]);
  if (missing.length > 0) throw new Error(`no Task state invokes ${[...new Set(missing)].join(', ')}`);
  return found as Record<LambdaName, BundledFunction>;
}

type State = Record<string, unknown> & { Type?: string; Resource?: unknown };

function* taskStates(machine: { States?: unknown }): Generator<[string, State]> {
  for (const [name, state] of Object.entries((machine.States ?? {}) as Record<string, State>)) {
    if (state.Type === 'Task') yield [name, state];
    for (const branch of (state.Branches as Array<{ States?: unknown }> | undefined) ?? [])
      yield* taskStates(branch);
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: unknown } | undefined;
    if (processor) yield* taskStates(processor);
  }
}

/**
 * Lambda's Node.js runtime provides the AWS SDK, which the bundles leave out; an assembly outside the
 * repository gets the repository's copy of exactly that (@aws-sdk), and nothing else, beside it.
 */
export function provideRuntimeSdk(outdir: string, projectRoot: string): void {
  const modules = join(outdir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const link = join(modules, '@aws-sdk');
  if (!existsSync(link)) symlinkSync(join(projectRoot, 'node_modules', '@aws-sdk'), link, 'dir');
}

/** The parts of an assembly built from its template; `dispose` is the caller's to decide. */
function assemblyOf(outdir: string, template: Template, dispose: () => void): SynthesizedAssembly {
  return {
    outdir,
    template,
    definition: definitionFromTemplate(template),
    functions: bundledFunctions(template, outdir),
    dispose,
  };
}

/**
 * Synthesizes the real stack with its bundles into a private temporary directory (removed by
 * `dispose`), as `npm run synth` does, without cdk-nag. With `into`, into that new directory instead.
 */
export async function synthesizeAssembly(into?: string): Promise<SynthesizedAssembly> {
  // Imported here so commands that never run the workflow do not load aws-cdk-lib.
  const { createApp } = await import('../../infra/create-app');
  const { projectRoot } = await import('../../infra/constructs/penetrator-function');
  const outdir = into ?? mkdtempSync(join(tmpdir(), 'penetrator-assembly-'));
  const dispose = () => rmSync(outdir, { recursive: true, force: true });
  try {
    // The local runner hands the Lambdas its own settings: this package source only lets synth pass,
    // and a named image keeps synth from staging the installer image, which no local run pulls.
    const context = {
      'penetrator:packageSource': 'none',
      'penetrator:installerImage': 'penetrator-installer:local',
    };
    const { app, stack } = createApp({ context, nag: false, outdir });
    const template = app.synth().getStackArtifact(stack.artifactId).template as Template;
    provideRuntimeSdk(outdir, projectRoot);
    return assemblyOf(outdir, template, dispose);
  } catch (error) {
    dispose();
    throw error;
  }
}

interface AssemblyManifest {
  artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
}

/**
 * An assembly that synthesizeAssembly wrote earlier, read back from its manifest (the one stack's
 * template) without synthesizing again. `dispose` leaves it in place: whoever wrote it owns it.
 */
export function readAssembly(outdir: string): SynthesizedAssembly {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as AssemblyManifest;
  const stacks = Object.values(manifest.artifacts ?? {}).filter((a) => a.type === 'aws:cloudformation:stack');
  const templateFile = stacks[0]?.properties?.templateFile;
  if (stacks.length !== 1 || !templateFile) {
    throw new Error(`${outdir}: expected an assembly of one stack; received ${stacks.length} stacks`);
  }
  const template = JSON.parse(readFileSync(join(outdir, templateFile), 'utf8')) as Template;
  return assemblyOf(outdir, template, () => undefined);
}
