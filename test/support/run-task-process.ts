/**
 * A local run of one NodeTask in a process of its own, so a test can kill it as an operator's
 * machine dies (SIGKILL: no handler, no cleanup). The handlers run from the sources with the
 * settings given; the definition is the synthesized one, read from the file the test wrote (synth
 * costs seconds). Usage: tsx run-task-process.ts CONFIG.json; prints the run's result as JSON.
 */
import { readFileSync } from 'node:fs';
import { runWorkflowLocally } from '../../cli/local/run-workflow';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import { createLocalHandlers } from '../../lambdas/local-handlers';
import type { RuntimeSettings } from '../../lambdas/settings';

export interface RunTaskProcessConfig {
  definitionPath: string;
  nodeTaskPath: string;
  kubeconfigPath: string;
  credentialPath: string;
  objectsPath: string;
  settings: Partial<RuntimeSettings>;
  pollSeconds: number;
  retryIntervalSeconds: number;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RunTaskProcessConfig;
const handlers = createLocalHandlers({
  kubeconfigYaml: readFileSync(config.kubeconfigPath, 'utf8'),
  credentialPath: config.credentialPath,
  objectsPath: config.objectsPath,
  settings: config.settings,
});
const result = await runWorkflowLocally({
  definition: JSON.parse(readFileSync(config.definitionPath, 'utf8')) as object,
  input: { nodeTask: JSON.parse(readFileSync(config.nodeTaskPath, 'utf8')) as unknown },
  handlers,
  objects: new FileObjectStore(config.objectsPath),
  pollSeconds: config.pollSeconds,
  retryIntervalSeconds: config.retryIntervalSeconds,
});
process.stdout.write(`${JSON.stringify({ status: result.status, error: result.error })}\n`);
