// The CLI as one JavaScript bundle, so that `penetrator` starts without compiling TypeScript.
//
// `npm install` builds it (the `prepare` script); the command rebuilds it on its own when a source it
// was built from has changed since. Plain JavaScript on purpose: this file runs before anything can
// compile TypeScript.
//
// Layout of cli/.build/: content-hashed chunks, and manifest.json naming the entry chunk and the size
// and modification time of every source the bundle was built from. A chunk is written once under its
// hash and the manifest replaced last, each by an atomic rename, so that two commands building at the
// same time, or a running command loading a chunk late, never read a half-written file.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/* global process, URL */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OUT_DIR = join(ROOT, 'cli', '.build');
export const MANIFEST = join(OUT_DIR, 'manifest.json');
const ENTRY = join(ROOT, 'cli', 'main.ts');

/**
 * Packages compiled into the bundle: the ones every start loads (argument parsing, the NodeTask
 * parser, request signing), where Node's per-file module loading is most of the start-up time.
 * The rest (AWS SDK clients, client-node, ssh2, the CDK) stay in node_modules, loaded by the verbs
 * that need them, exactly as they ship.
 */
const BUNDLED_PACKAGES = new Set(['commander', 'yaml', 'zod', '@smithy/signature-v4']);

/** Files that change what a build produces without being imported by it. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'cli/bin/bundle.mjs'];

/** Chunks no manifest names any more are removed after this long (a running command may still load one). */
const PRUNE_AFTER_MS = 24 * 60 * 60 * 1000;

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function fingerprint(path) {
  const info = statSync(join(ROOT, path));
  return [info.size, info.mtimeMs];
}

/**
 * The entry chunk's URL if the bundle exists and was built from the sources as they are now; otherwise
 * why not. Costs one stat per source file: a few milliseconds.
 */
export function currentBundle(manifestPath = MANIFEST) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return { reason: 'the CLI bundle is not built' };
  }
  for (const [path, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    let now;
    try {
      now = fingerprint(path);
    } catch {
      return { reason: `${path}, which the CLI bundle was built from, is gone` };
    }
    if (now[0] !== size || now[1] !== mtimeMs)
      return { reason: `${path} changed since the CLI bundle was built` };
  }
  return { url: pathToFileURL(join(dirname(manifestPath), manifest.entry)).href };
}

/**
 * In the bundle, import.meta.url would name the chunk, not the source file; the sources use it to find
 * files beside them (package.json, the install script, the sandbox's build script). So each source
 * that mentions import.meta gets its own, computed from the chunk's location at run time, which keeps
 * the checkout movable. `define` replaces expressions, never text inside strings.
 */
function sourceLocations(transform) {
  return {
    name: 'source-locations',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta')) return undefined;
        const { code } = await transform(text, {
          loader: 'ts',
          format: 'esm',
          target: 'node20',
          sourcefile: args.path,
          define: {
            'import.meta.url': '__penetratorSourceUrl',
            'import.meta.filename': '__penetratorSourceFile',
            'import.meta.dirname': '__penetratorSourceDir',
          },
        });
        const fromChunk = relative(OUT_DIR, args.path).split('\\').join('/');
        const prelude =
          "import { fileURLToPath as __penetratorToPath } from 'node:url';\n" +
          "import { dirname as __penetratorDirname } from 'node:path';\n" +
          `const __penetratorSourceUrl = new URL(${JSON.stringify(fromChunk)}, import.meta.url).href;\n` +
          'const __penetratorSourceFile = __penetratorToPath(__penetratorSourceUrl);\n' +
          'const __penetratorSourceDir = __penetratorDirname(__penetratorSourceFile);\n';
        return { contents: prelude + code, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Only the start-up packages are compiled in; everything else a source imports stays external. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return undefined;
      // A bundled package's own dependencies come with it, whichever version it resolved.
      if (args.importer.includes('/node_modules/')) return undefined;
      return BUNDLED_PACKAGES.has(packageName(args.path)) ? undefined : { external: true };
    });
  },
};

function writeAtomically(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

function prune(keep) {
  const now = Date.now();
  for (const name of readdirSync(OUT_DIR)) {
    if (keep.has(name) || name === 'manifest.json') continue;
    const path = join(OUT_DIR, name);
    if (now - statSync(path).mtimeMs > PRUNE_AFTER_MS) rmSync(path, { force: true });
  }
}

/** Builds the bundle and returns its entry chunk's URL. esbuild is loaded only here. */
export async function buildBundle() {
  const { build, transform } = await import('esbuild');
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    entryNames: '[name]-[hash]',
    // Error classes carry literal names already; this keeps every other class's name as in the sources.
    keepNames: true,
    // Bundled CommonJS packages (commander) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __penetratorCreateRequire } from 'node:module'; const require = __penetratorCreateRequire(import.meta.url);",
    },
    logLevel: 'silent',
    plugins: [externalPackages, sourceLocations(transform)],
  });
  mkdirSync(OUT_DIR, { recursive: true });
  const keep = new Set();
  let entry;
  for (const file of result.outputFiles) {
    const name = relative(OUT_DIR, file.path);
    keep.add(name);
    if (!existsSync(file.path)) writeAtomically(file.path, file.contents);
    const meta = result.metafile.outputs[relative(ROOT, file.path).split('\\').join('/')];
    if (meta?.entryPoint === relative(ROOT, ENTRY)) entry = name;
  }
  const sources = Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules/'));
  const inputs = {};
  for (const path of [...sources, ...BUILD_INPUTS].sort()) inputs[path] = fingerprint(path);
  // A source saved while the build read it: this bundle may hold the old text, so it is not recorded
  // as current and the next start builds again.
  const changedDuringBuild = Object.values(inputs).some(([, mtimeMs]) => mtimeMs >= startedAt);
  if (!changedDuringBuild) writeAtomically(MANIFEST, `${JSON.stringify({ entry, inputs }, null, 1)}\n`);
  prune(keep);
  return pathToFileURL(join(OUT_DIR, entry)).href;
}

// `npm run build:cli` (and `prepare`, at install time).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildBundle();
  process.stdout.write(`built the CLI bundle in ${relative(ROOT, OUT_DIR)}/ (${Date.now() - started} ms)\n`);
}
