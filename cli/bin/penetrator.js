#!/usr/bin/env node
// The `penetrator` command. It runs the CLI bundle (cli/bin/bundle.mjs), rebuilt first if a source
// changed since it was built, so that a start costs milliseconds rather than the seconds compiling
// TypeScript takes. If the bundle cannot be built (a read-only install, say), it says so and runs the
// TypeScript sources through tsx instead; PENETRATOR_FROM_SOURCES=1 asks for that on purpose.
import { buildBundle, currentBundle } from './bundle.mjs';

/* global process */
// The AWS SDK warns on Node < 22 about its releases of 2027; the deployed Lambdas run Node 24, and a
// multi-line warning in the middle of a command's output helps no one. package.json states the engines.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function bundleEntry() {
  const current = currentBundle();
  if (current.url) return current.url;
  try {
    return await buildBundle();
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(
      `penetrator: ${current.reason} and building it failed (${message}); running from the TypeScript sources, which starts slowly\n`,
    );
    return undefined;
  }
}

const entry = process.env.PENETRATOR_FROM_SOURCES === '1' ? undefined : await bundleEntry();
if (entry) {
  const { run } = await import(entry);
  await run();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import('../main.ts');
  await run();
}
