#!/usr/bin/env node
// The `penetrator` command. tsx's loader compiles the TypeScript sources as they are imported, so
// the CLI runs from the repository as is, with no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../main.ts');
await run();
