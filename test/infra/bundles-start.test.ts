// Every Lambda bundle of the synthesized assembly, loaded as Lambda loads it (an ES module import of
// the asset's entry, then the named handler export) by a plain Node.js process of the deployed
// runtime — outside vitest, whose module runner would lend the bundle CommonJS globals it lacks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedAssembly, readAssembly, synthesizeAssembly } from '../../cli/local/assembly';
import { lambdaProcessEnv } from '../../cli/local/bundled-handlers';
import { LambdaFunctionPool, LambdaInvokeError } from '../../cli/local/lambda-container';
import { lambdaNode } from '../../cli/local/lambda-node';
import { FUNCTION_RUNTIME } from '../../infra/constructs/penetrator-function';

/** A request for a path no route serves: answered by the router alone, no AWS call. */
const unknownRoute = {
  httpMethod: 'GET',
  resource: '/{proxy+}',
  path: '/no-such-route',
  headers: {},
  multiValueHeaders: {},
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: { proxy: 'no-such-route' },
  stageVariables: null,
  body: null,
  isBase64Encoded: false,
  requestContext: { requestId: 'probe-request', identity: {} },
};

async function invoke(pool: LambdaFunctionPool, event: unknown): Promise<unknown> {
  try {
    return await pool.invoke(event);
  } catch (error) {
    if (error instanceof LambdaInvokeError) return error;
    throw error;
  }
}

/** An answer in a few words: the error name, or the HTTP status and message. */
function summary(answer: unknown): string {
  if (answer instanceof LambdaInvokeError) return answer.name;
  const { statusCode, body } = answer as { statusCode: number; body: string };
  return `${statusCode} ${(JSON.parse(body) as { message: string }).message}`;
}

describe('the synthesized Lambda bundles', () => {
  let assembly: SynthesizedAssembly;
  const pools: LambdaFunctionPool[] = [];

  beforeAll(async () => {
    assembly = await synthesizeAssembly();
  });
  afterAll(() => {
    for (const pool of pools) pool.close();
    assembly?.dispose();
  });

  function poolFor(logicalId: string): LambdaFunctionPool {
    const fn = assembly.functions[logicalId]!;
    const pool = new LambdaFunctionPool({
      name: fn.logicalId,
      assetDir: fn.assetDir,
      handler: fn.handler,
      environment: lambdaProcessEnv(fn, { POWERTOOLS_LOG_LEVEL: 'SILENT' }),
      timeoutSeconds: fn.timeoutSeconds,
      nodeBinary: lambdaNode(fn.runtime).binary,
    });
    pools.push(pool);
    return pool;
  }

  it('read back from the written assembly, are the same artifacts (the integration suites share one)', () => {
    const read = readAssembly(assembly.outdir);
    expect(read.definition).toEqual(assembly.definition);
    expect(read.functions).toEqual(assembly.functions);
    read.dispose();
    expect(readFileSync(join(assembly.outdir, 'manifest.json'), 'utf8')).toContain('artifacts');
  });

  it('are thirteen, all on the deployed runtime, which the test runs', () => {
    const functions = Object.values(assembly.functions);
    expect(functions).toHaveLength(13);
    for (const fn of functions) expect(fn.runtime).toBe(FUNCTION_RUNTIME.name);
    expect(lambdaNode(FUNCTION_RUNTIME.name).version).toMatch(/^v24\./);
  });

  it("each load under Node.js 24 and answer an event with the handler's own refusal", async () => {
    // A payload that is not the function's input: its typed error, named as Step Functions sees it;
    // an API request for no route: the router's 404.
    const answers: Record<string, string> = {};
    for (const fn of Object.values(assembly.functions)) {
      const api = fn.description.startsWith('HTTP API: ');
      answers[fn.description] = summary(await invoke(poolFor(fn.logicalId), api ? unknownRoute : {}));
    }
    expect(answers).toEqual({
      'Validates a NodeTask and assigns node names': 'Penetrator.InvalidPayload',
      'Takes the per-cluster lock (a Lease)': 'Penetrator.InvalidPayload',
      'Creates the task object, the credential Secret, the script ConfigMap and the bootstrap token':
        'Penetrator.InvalidPayload',
      "Starts (or adopts) one node's install Job; in direct mode, installs the node itself":
        'Penetrator.InvalidPayload',
      "Checks one node's install Job and its Node": 'Penetrator.InvalidPayload',
      "Records the task's outcome in the cluster": 'Penetrator.InvalidPayload',
      'Deletes the credential Secret and releases the lock': 'Penetrator.InvalidPayload',
      'HTTP API: submit, list, describe and cancel NodeTasks': '404 no route GET /{proxy+}',
      'HTTP API: store SSH credentials (write-only)': '404 no route GET /{proxy+}',
      'HTTP API: register clusters and list them': '404 no route GET /{proxy+}',
      'Starts a reinstall task from a Reinstall Nodes event': 'Penetrator.ReinstallRefused',
      'Deletes the credential Secret and releases the lock of an aborted or timed-out execution':
        'Penetrator.InvalidPayload',
      'Starts the NodeTasks applied with kubectl; stops and cleans up the deleted ones':
        'Penetrator.InvalidPayload',
    });
  });

  it('are each at most 1 MiB, the full validator library only in the functions that validate a NodeTask', () => {
    const withZod: string[] = [];
    for (const fn of Object.values(assembly.functions)) {
      const code = readFileSync(join(fn.assetDir, 'index.mjs'));
      expect({ fn: fn.logicalId, fits: code.length <= 1024 * 1024 }).toEqual({ fn: fn.logicalId, fits: true });
      // Classic zod names its classes plainly ("ZodString"); the mini form the settings use, and its
      // core, name theirs "ZodMiniString" and "$ZodString".
      if (code.includes('"ZodString"')) withZod.push(fn.logicalId.replace(/Function[0-9A-F]{8}$/, ''));
    }
    // Following one node (Start and Check install) must not parse the NodeTask's validator library
    // at each cold start: only the settings' small mini schemas.
    expect(withZod.sort()).toEqual(
      expect.not.arrayContaining(['Lock', 'StartInstall', 'CheckInstall', 'Summarize', 'Cleanup']),
    );
    expect(withZod).toContain('Plan');
  });

  it('carry ssh2 in the start-install bundle only', () => {
    const withSsh = Object.values(assembly.functions)
      .filter((fn) => readFileSync(join(fn.assetDir, 'index.mjs'), 'utf8').includes('SSH-2.0-'))
      .map((fn) => fn.description);
    expect(withSsh).toEqual([expect.stringMatching(/^Starts \(or adopts\) one node's install Job/)]);
  });
});
