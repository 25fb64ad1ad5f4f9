import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, currentBundle, MANIFEST, OUT_DIR, ROOT } from '../../../cli/bin/bundle.mjs';

// The command users run is the bundle; these prove it behaves as the TypeScript sources do, finds the
// files beside its sources, and is rebuilt rather than run stale.

const BIN = join(ROOT, 'cli/bin/penetrator.js');
const FIXTURES = join(ROOT, 'test/fixtures/nodetasks');
const SPAWN_TIMEOUT_MS = 60_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function penetrator(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, PENETRATOR_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`penetrator ${args.join(' ')} did not end within ${SPAWN_TIMEOUT_MS} ms`));
    }, SPAWN_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
  });
}

// Each case starts real Node.js processes (the sources' run compiles TypeScript first): on a loaded
// machine that takes far longer than vitest's default of 5 s, so the cases wait as long as the spawn does.
const CASE_TIMEOUT_MS = 2 * SPAWN_TIMEOUT_MS + 10_000;

let entry: string;
beforeAll(async () => {
  entry = await buildBundle();
}, CASE_TIMEOUT_MS);

describe('the CLI bundle', { timeout: CASE_TIMEOUT_MS }, () => {
  it.each([
    [['--help']],
    [['--version']],
    [['validate', '--help']],
    [['validate', '-f', join(FIXTURES, 'add-nodes.yaml')]],
    [['validate', '-f', join(FIXTURES, 'invalid/bad-fields.yaml')]],
    [['validate', '-f', join(FIXTURES, 'nonexistent.yaml')]],
  ])('answers %j exactly as the sources do', async (args) => {
    const fromBundle = await penetrator(args, {});
    const fromSources = await penetrator(args, { PENETRATOR_FROM_SOURCES: '1' });
    expect(fromBundle).toEqual(fromSources);
  });

  it('is the build the command runs while the sources are unchanged', () => {
    expect(currentBundle()).toEqual({ url: entry });
    expect(readdirSync(OUT_DIR)).toContain(fileURLToPath(entry).slice(OUT_DIR.length + 1));
  });

  it('holds no absolute path of the checkout, so the checkout can move', () => {
    const chunks = readdirSync(OUT_DIR).filter((name) => name.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(1);
    for (const name of chunks) expect(readFileSync(join(OUT_DIR, name), 'utf8')).not.toContain(ROOT);
  });
});

describe('a bundle built from other sources', () => {
  let dir: string;
  let manifest: { entry: string; inputs: Record<string, [number, number]> };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as typeof manifest;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function stateWith(inputs: Record<string, [number, number]>) {
    const path = join(dir, 'manifest.json');
    writeFileSync(path, JSON.stringify({ entry: manifest.entry, inputs }));
    return currentBundle(path);
  }

  it('is stale when a source it was built from has another modification time', () => {
    const [size, mtimeMs] = manifest.inputs['cli/main.ts']!;
    expect(stateWith({ ...manifest.inputs, 'cli/main.ts': [size, mtimeMs - 1000] })).toEqual({
      reason: 'cli/main.ts changed since the CLI bundle was built',
    });
  });

  it('is stale when a source it was built from has another size', () => {
    const [size, mtimeMs] = manifest.inputs['lambdas/domain/node-task.ts']!;
    expect(stateWith({ ...manifest.inputs, 'lambdas/domain/node-task.ts': [size + 1, mtimeMs] })).toEqual({
      reason: 'lambdas/domain/node-task.ts changed since the CLI bundle was built',
    });
  });

  it('is stale when a source it was built from is gone', () => {
    expect(stateWith({ ...manifest.inputs, 'cli/removed.ts': [1, 1] })).toEqual({
      reason: 'cli/removed.ts, which the CLI bundle was built from, is gone',
    });
  });

  it('is absent without a manifest', () => {
    expect(currentBundle(join(dir, 'none.json'))).toEqual({ reason: 'the CLI bundle is not built' });
  });

  it('records the lock file, so an upgraded dependency is bundled again', () => {
    expect(Object.keys(manifest.inputs)).toEqual(
      expect.arrayContaining(['package-lock.json', 'cli/main.ts']),
    );
  });
});
