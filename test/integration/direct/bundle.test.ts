import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../../infra/create-app';
import { PenetratorFunction } from '../../../infra/constructs/penetrator-function';

/**
 * Direct mode runs ssh2 inside the Lambda: the bundle the stack builds must carry it, leave out its
 * optional native add-ons (a bundle cannot hold .node files), and still connect.
 */
describe('the SSH adapter in a Lambda bundle', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'penetrator-ssh-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles ssh2 without native add-ons and maps a refused connection as install.sh does', async () => {
    const app = new App({ context: cdkJsonContext(), outdir });
    new PenetratorFunction(new Stack(app, 'SshProbe'), 'SshProbe', {
      entry: 'test/integration/direct/fixtures/ssh-probe.ts',
      description: 'ssh bundling probe',
      logRetention: RetentionDays.ONE_DAY,
    });
    app.synth();
    const asset = readdirSync(outdir).find((d) => d.startsWith('asset.'))!;
    const bundle = join(outdir, asset, 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    expect(readdirSync(join(outdir, asset)).filter((f) => f.endsWith('.node'))).toEqual([]);
    // ssh2 is inside, its native add-ons are not: they stay out of the bundle, loaded by nothing.
    expect(readFileSync(bundle, 'utf8').includes('keyboard-interactive')).toBe(true);

    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { handler } = (await import(pathToFileURL(bundle).href)) as {
      handler: (event: { port: number }) => Promise<{ reason: string }>;
    };
    await expect(handler({ port })).resolves.toEqual({
      reason: `ssh: cannot reach 127.0.0.1:${port} (connection refused)`,
    });
  });
});
