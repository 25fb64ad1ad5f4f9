import { readdirSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../infra/create-app';
import { PenetratorFunction } from '../../infra/constructs/penetrator-function';

describe('PenetratorFunction bundling', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'penetrator-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles an ESM handler using client-node, with the installer scripts inlined, into a module that loads and runs', async () => {
    const app = new App({ context: cdkJsonContext(), outdir });
    const stack = new Stack(app, 'Probe');
    new PenetratorFunction(stack, 'Probe', {
      entry: 'test/infra/fixtures/bundle-probe.ts',
      description: 'bundling probe',
      logRetention: RetentionDays.ONE_DAY,
    });
    app.synth();

    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const bundle = join(outdir, assets[0]!, 'index.mjs');
    expect(existsSync(`${bundle}.map`)).toBe(true);
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: () => Promise<unknown> };
    await expect(handler()).resolves.toEqual({
      clusters: 1,
      errorName: 'Penetrator.InstallFailed',
      installScript: readFileSync(new URL('../../installer/install.sh', import.meta.url), 'utf8'),
      remoteScript: readFileSync(new URL('../../installer/remote.sh', import.meta.url), 'utf8'),
    });
  });

  it('fails when the handler file does not exist', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Missing');
    expect(
      () =>
        new PenetratorFunction(stack, 'Missing', {
          entry: 'lambdas/handlers/no-such-handler.ts',
          description: 'missing',
          logRetention: RetentionDays.ONE_DAY,
        }),
    ).toThrow(/handler file not found; received entry lambdas\/handlers\/no-such-handler\.ts/);
  });
});
