#!/usr/bin/env node
// The `penetrator` command. tsx's loader compiles the TypeScript sources as they are imported, so
// the CLI runs from the repository as is, with no build step.
import { register } from 'tsx/esm/api';

/* global process */
// The AWS SDK warns on Node < 22 about its releases of 2027; the deployed Lambdas run Node 24, and a
// multi-line warning in the middle of a command's output helps no one. package.json states the engines.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { run } = await import('../main.ts');
await run();
