import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The lint rules see one import at a time; these follow every import from an entry point, as the
// bundler does, and list the packages that end up loaded.

const ROOT = join(import.meta.dirname, '../../..');
const RUNTIME_PACKAGES = /^(@aws-sdk\/|@smithy\/|@kubernetes\/client-node$|ssh2$|@aws-lambda-powertools\/)/;

/** Every package a module and what it imports load, with the first source file that imports each. */
async function packagesLoadedBy(entryPoints: string[]): Promise<Map<string, string>> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: join(ROOT, '.scratch/boundaries'),
    logLevel: 'silent',
  });
  const packages = new Map<string, string>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || imported.path.startsWith('node:')) continue;
      const parts = imported.path.split('/');
      const name = imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      if (!packages.has(name)) packages.set(name, file);
    }
  }
  return packages;
}

const runtimeOnly = (packages: Map<string, string>) =>
  [...packages].filter(([name]) => RUNTIME_PACKAGES.test(name)).map(([name, file]) => `${name} ← ${file}`);

describe('the CDK app', () => {
  it('loads no runtime SDK, through any chain of imports', async () => {
    const packages = await packagesLoadedBy(['infra/app.ts']);
    expect(packages.has('aws-cdk-lib')).toBe(true);
    expect(runtimeOnly(packages)).toEqual([]);
  });
});

describe('the domain', () => {
  it('loads no SDK and no framework, through any chain of imports', async () => {
    const dir = join(ROOT, 'lambdas/domain');
    const modules = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => relative(ROOT, join(dir, name)));
    expect(modules.length).toBeGreaterThan(5);
    const packages = await packagesLoadedBy(modules);
    expect([...packages.keys()].sort()).toEqual(expect.arrayContaining(['zod']));
    expect(runtimeOnly(packages)).toEqual([]);
    expect([...packages.keys()].filter((name) => /^(aws-cdk-lib|constructs|aws-lambda)$/.test(name))).toEqual(
      [],
    );
  });
});

describe('the check itself', () => {
  it('sees a runtime SDK behind a chain of imports', async () => {
    // lambdas/handlers/lambda-runtime.ts is a composition root: it reaches the SDKs through adapters.
    const packages = await packagesLoadedBy(['lambdas/handlers/lambda-runtime.ts']);
    expect(runtimeOnly(packages)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^@aws-sdk\/client-[a-z-]+ ← lambdas\/adapters\//)]),
    );
  });
});
