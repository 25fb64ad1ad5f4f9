import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'cli/bin/penetrator.js');
const FIXTURES = join(ROOT, 'test/fixtures/nodetasks');
/** tsx compiles the CLI on start; generous, but a hung process still fails the test. */
const SPAWN_TIMEOUT_MS = 30_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the real bin. The CLI may stop reading stdin early (its size cap): EPIPE is expected then. */
function penetrator(
  args: string[],
  input: string | Buffer = '',
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, PENETRATOR_DEBUG: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`penetrator ${args.join(' ')} did not end within ${SPAWN_TIMEOUT_MS} ms`));
    }, SPAWN_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('penetrator validate', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'validate-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['add-nodes.yaml', 'nodetask/nodes is valid (2 machines, mode proxy)'],
    ['reinstall-nodes.yaml', 'nodetask/nodes is valid (1 machine, mode proxy)'],
    ['add-nodes.json', 'nodetask/nodes is valid (3 machines, mode proxy)'],
    ['extensions.yaml', 'nodetask/site-a.batch-1 is valid (2 machines, mode direct)'],
  ])('accepts %s from a file', async (file, line) => {
    const run = await penetrator(['validate', '-f', join(FIXTURES, file)]);
    expect(run).toEqual({ status: 0, stdout: `${line}\n`, stderr: '' });
  });

  it('reads stdin with -f -', async () => {
    const run = await penetrator(['validate', '-f', '-'], readFileSync(join(FIXTURES, 'add-nodes.yaml')));
    expect(run).toEqual({
      status: 0,
      stdout: 'nodetask/nodes is valid (2 machines, mode proxy)\n',
      stderr: '',
    });
  });

  it('prints one line per problem and exits 1', async () => {
    const run = await penetrator(['validate', '--filename', join(FIXTURES, 'invalid/bad-fields.yaml')]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      'apiVersion: "nodetask.apps.superedge.io/v1" is not supported; expected nodetask.apps.superedge.io/v1beta1',
      'metadata.name: "Nodes" is not a DNS-1123 subdomain of at most 56 characters (so the label value <name>-<6> fits 63)',
      'spec.nodeNamePrefix: "Edge_" is not a DNS-1123 label of at most 56 characters',
      'spec.targetMachines[1]: "300.1.2.3" is not an IPv4 or IPv6 address',
      'spec.sshPort: 70000 is out of range; expected an integer from 1 to 65535',
      'spec.colour: unknown field',
    ]);
  });

  it.each<[string, string | Buffer, string[]]>([
    ['empty stdin', '', ['document: is empty; expected one NodeTask in YAML or JSON']],
    ['a JSON array', '[]', ['document: got an array; expected a NodeTask object']],
    [
      'binary garbage',
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe]),
      ['error: stdin is not UTF-8 text', 'hint: pass a NodeTask in YAML or JSON'],
    ],
    [
      'NUL bytes',
      Buffer.from('kind: NodeTask\0\0\0'),
      ['document: holds binary data (a NUL byte); expected YAML or JSON text'],
    ],
    [
      'two documents',
      readFileSync(join(FIXTURES, 'invalid/multi-document.yaml')),
      ['document: holds 2 YAML documents; expected exactly one NodeTask'],
    ],
  ])('refuses %s on stdin with exit 1', async (_title, input, expected) => {
    const run = await penetrator(['validate', '-f', '-'], input);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual(expected);
  });

  it('refuses a huge input by its size, from stdin and from a file', async () => {
    const huge = randomBytes(3 * 1024 * 1024);
    const expected = ['document: is larger than 1 MiB; expected one NodeTask of at most 1 MiB'];
    const fromStdin = await penetrator(['validate', '-f', '-'], huge);
    expect(fromStdin.status).toBe(1);
    expect(lines(fromStdin.stderr)).toEqual(expected);

    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const fromFile = await penetrator(['validate', '-f', file]);
    expect(fromFile.status).toBe(1);
    expect(lines(fromFile.stderr)).toEqual(expected);
  });

  it('says what is wrong with a missing file, without a stack trace', async () => {
    const run = await penetrator(['validate', '-f', join(dir, 'absent.yaml')]);
    expect(run.status).toBe(1);
    expect(lines(run.stderr)).toEqual([
      `error: cannot read ${join(dir, 'absent.yaml')}: no such file`,
      'hint: check the path, or use -f - to read stdin',
    ]);
  });

  it('prints the result as JSON with -o json', async () => {
    const run = await penetrator(['validate', '-f', join(FIXTURES, 'reinstall-nodes.yaml'), '-o', 'json']);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      valid: true,
      name: 'nodes',
      mode: 'proxy',
      machines: [{ ip: '172.21.3.194', name: 'edge-1mokvl' }],
    });
  });

  it.each([
    [['validate'], "error: required option '-f, --filename <file>' not specified"],
    [['validate', '-f', '-', '-o', 'xml'], 'error: unknown output format "xml"'],
    [['frobnicate'], "error: unknown command 'frobnicate'"],
  ])('exits 2 on a usage error: %j', async (args, first) => {
    const run = await penetrator(args);
    expect(run.status).toBe(2);
    expect(lines(run.stderr)[0]).toBe(first);
    expect(lines(run.stderr)[1]).toMatch(/^hint: /);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await penetrator(['--version'])).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });
});
