import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  INSTALL_SCRIPT_PATH,
  installScriptDefine,
  loadInstallScript,
} from '../../../lambdas/adapters/install-script';

const dir = mkdtempSync(join(tmpdir(), 'penetrator-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the install script', () => {
  it('is read from the repository when not bundled', async () => {
    const script = await loadInstallScript();
    expect(script.startsWith('#!/bin/sh')).toBe(true);
    expect(INSTALL_SCRIPT_PATH.endsWith('installer/install.sh')).toBe(true);
  });

  it('is inlined by the bundle define, so a bundle needs no repository file', async () => {
    const scriptPath = join(dir, 'install.sh');
    writeFileSync(scriptPath, '#!/bin/sh\necho \'inlined "quotes" and $VARS\'\n');
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { loadInstallScript } from ${JSON.stringify(join(process.cwd(), 'lambdas/adapters/install-script.ts'))};\n` +
        `export const read = () => loadInstallScript(${JSON.stringify(join(dir, 'absent.sh'))});\n`,
    );
    const outfile = join(dir, 'bundle.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      define: installScriptDefine(scriptPath),
      logLevel: 'silent',
    });
    const bundled = (await import(pathToFileURL(outfile).href)) as { read: () => Promise<string> };
    // The path given does not exist: only the inlined text can answer.
    expect(await bundled.read()).toBe('#!/bin/sh\necho \'inlined "quotes" and $VARS\'\n');
  });

  it('fails with a clear message when neither bundled nor present', async () => {
    await expect(loadInstallScript(join(dir, 'nowhere.sh'))).rejects.toThrow(
      /neither bundled .* nor readable/,
    );
  });
});
