import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  INSTALL_SCRIPT_PATH,
  REMOTE_SCRIPT_PATH,
  installScriptDefine,
  loadInstallScript,
  loadInstallerScripts,
} from '../../../lambdas/adapters/install-script';

const dir = mkdtempSync(join(tmpdir(), 'penetrator-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the install script', () => {
  it('is read from the repository when not bundled', async () => {
    const script = await loadInstallScript();
    expect(script.startsWith('#!/bin/sh')).toBe(true);
    expect(INSTALL_SCRIPT_PATH.endsWith('installer/install.sh')).toBe(true);
  });

  it('reads the remote part beside it', async () => {
    const scripts = await loadInstallerScripts();
    expect(scripts.install).toBe(await loadInstallScript());
    expect(scripts.remote).toContain('penetrator_remote() {');
    expect(REMOTE_SCRIPT_PATH.endsWith('installer/remote.sh')).toBe(true);
  });

  it('is inlined by the bundle define, so a bundle needs no repository file', async () => {
    const scriptPath = join(dir, 'install.sh');
    writeFileSync(scriptPath, '#!/bin/sh\necho \'inlined "quotes" and $VARS\'\n');
    const remotePath = join(dir, 'remote.sh');
    writeFileSync(remotePath, "penetrator_remote() { echo 'remote'; }\n");
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      `import { loadInstallerScripts } from ${JSON.stringify(join(process.cwd(), 'lambdas/adapters/install-script.ts'))};\n` +
        `export const read = () => loadInstallerScripts(${JSON.stringify(join(dir, 'absent.sh'))}, ${JSON.stringify(join(dir, 'absent-remote.sh'))});\n`,
    );
    const outfile = join(dir, 'bundle.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      define: installScriptDefine(scriptPath, remotePath),
      logLevel: 'silent',
    });
    const bundled = (await import(pathToFileURL(outfile).href)) as {
      read: () => Promise<{ install: string; remote: string }>;
    };
    // The paths given do not exist: only the inlined text can answer.
    expect(await bundled.read()).toEqual({
      install: '#!/bin/sh\necho \'inlined "quotes" and $VARS\'\n',
      remote: "penetrator_remote() { echo 'remote'; }\n",
    });
  });

  it('fails with a clear message when neither bundled nor present', async () => {
    await expect(loadInstallScript(join(dir, 'nowhere.sh'))).rejects.toThrow(
      /neither bundled .* nor readable/,
    );
  });
});
