import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config';
import { projectRoot } from './constructs/penetrator-function';
import { PenetratorStack } from './penetrator-stack';

export const STACK_NAME = 'Penetrator';

export interface CreateAppOptions {
  /** Context on top of cdk.json's (the CDK CLI's own context still wins over both). */
  readonly context?: Record<string, unknown>;
  /** Run cdk-nag's AwsSolutions pack at synth. Default true. */
  readonly nag?: boolean;
  /** Cloud assembly directory. Default: the CDK CLI's, or a temporary one. */
  readonly outdir?: string;
}

/** cdk.json's context: feature flags and the product's settings, the same in every synth. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/**
 * The app exactly as `cdk synth` builds it. Tests and the local runner synthesize it in-process
 * through here, so what they check and run is what gets deployed.
 */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: PenetratorStack } {
  const app = new App({
    context: { ...cdkJsonContext(), ...options.context },
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const config = loadConfig((key) => app.node.tryGetContext(key));
  const stack = new PenetratorStack(app, STACK_NAME, {
    config,
    description: 'Penetrator: joins edge machines behind NAT to Kubernetes clusters through a proxy node',
    // Environment-agnostic: one template for every account and region.
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
