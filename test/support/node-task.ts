import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** A NodeTask as a test submits it: plain data, before validation. */
export interface NodeTaskDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, unknown>;
  spec: Record<string, unknown>;
}

const ADD_NODES = join(import.meta.dirname, '../fixtures/nodetasks/add-nodes.yaml');
let seed: NodeTaskDocument | undefined;

/**
 * A fresh copy of the seed add example (test/fixtures/nodetasks/add-nodes.yaml: two machines, a proxy
 * node, login-secret), with the given name and spec fields replaced; a spec field set to undefined is
 * removed. Every call returns a new object, so no test sees another's edits.
 */
export function nodeTask(
  overrides: { name?: string; spec?: Record<string, unknown> } = {},
): NodeTaskDocument {
  seed ??= parse(readFileSync(ADD_NODES, 'utf8')) as NodeTaskDocument;
  const task = structuredClone(seed);
  if (overrides.name !== undefined) task.metadata.name = overrides.name;
  for (const [field, value] of Object.entries(overrides.spec ?? {})) {
    if (value === undefined) delete task.spec[field];
    else task.spec[field] = value;
  }
  return task;
}
