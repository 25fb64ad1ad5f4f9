/**
 * The synthesized assembly (template, definition and every Lambda's bundle) built once and shared by
 * every integration file, and by later runs while no input changed: synthesizing with bundling
 * takes tens of seconds, and each file used to pay it. The cache key is a hash of everything a
 * synthesis reads from this repository, so an edited handler or construct gives a fresh assembly.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readAssembly, synthesizeAssembly, type SynthesizedAssembly } from '../../cli/local/assembly';

const ROOT = resolve(import.meta.dirname, '../..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'penetrator-assembly');
/** What a synthesis reads: the CDK app, the workflow, the Lambdas it bundles, their dependencies. */
const INPUTS = [
  'infra',
  'statemachine',
  'lambdas',
  'installer',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'cdk.json',
];

function inputFiles(input: string): string[] {
  const path = join(ROOT, input);
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** sha256 over every input file's path and content, in a stable order. */
export function synthesisInputsHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap(inputFiles).sort()) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

let shared: Promise<SynthesizedAssembly> | undefined;

async function build(): Promise<SynthesizedAssembly> {
  const key = synthesisInputsHash();
  const dir = join(CACHE, key);
  if (!existsSync(join(dir, 'manifest.json'))) {
    mkdirSync(CACHE, { recursive: true });
    // Assemblies of earlier sources are of no further use.
    for (const old of readdirSync(CACHE)) rmSync(join(CACHE, old), { recursive: true, force: true });
    const building = join(CACHE, `${key}.building-${process.pid}`);
    await synthesizeAssembly(building);
    renameSync(building, dir);
  }
  return readAssembly(dir);
}

/** The shared assembly; pass it to `new LocalRuntimes(options, sharedAssembly)`. */
export function sharedAssembly(): Promise<SynthesizedAssembly> {
  shared ??= build();
  return shared;
}
