import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Each unit or infra test file gets a temporary directory of its own, removed after the file: CDK
// apps without an outdir, fixtures and spawned CLIs write below os.tmpdir(), and nothing of theirs
// may outlive the run. (Integration suites keep the real one: their harness cleans up by name.)
const previous = process.env.TMPDIR;
const dir = mkdtempSync(join(tmpdir(), 'penetrator-test-'));
process.env.TMPDIR = dir;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(dir, { recursive: true, force: true });
});
