// One Lambda "container" for local runs: loads a bundle the way the Node.js runtime of AWS Lambda
// does (an ES module import of the asset's entry, then its named handler export, both taken from
// LAMBDA_TASK_ROOT and _HANDLER), stays warm, and answers one invocation at a time over the IPC
// channel of the process that forked it. Plain JavaScript on purpose: it runs under the Lambda
// runtime's Node.js, with no loader, no test runner and no TypeScript between it and the bundle.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

/** What Lambda reports for a thrown error; Step Functions takes errorType as the error name. */
function envelope(error) {
  if (error instanceof Error) {
    return {
      errorType: typeof error.name === 'string' && error.name ? error.name : 'Error',
      errorMessage: error.message,
      trace: String(error.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

function send(message) {
  return new Promise((resolve) => {
    if (!process.connected) resolve();
    else process.send(message, () => resolve());
  });
}

/** "index.handler" → the entry file Lambda would load (index.mjs, index.js or index.cjs) and the export. */
function entryOf(root, spec) {
  const dot = spec.lastIndexOf('.');
  if (!root || dot <= 0) {
    throw Object.assign(new Error(`bad handler ${JSON.stringify(spec)} in ${JSON.stringify(root)}`), {
      name: 'Runtime.MalformedHandlerName',
    });
  }
  const base = spec.slice(0, dot);
  const file = ['.mjs', '.js', '.cjs'].map((ext) => join(root, base + ext)).find((f) => existsSync(f));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${base}' in ${root}`), {
      name: 'Runtime.ImportModuleError',
    });
  }
  return { file, exportName: spec.slice(dot + 1) };
}

async function load() {
  const { file, exportName } = entryOf(process.env.LAMBDA_TASK_ROOT, process.env._HANDLER ?? '');
  const module = await import(pathToFileURL(file).href);
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${process.env._HANDLER} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return handler;
}

function contextFor(requestId, deadline) {
  const env = process.env;
  return {
    awsRequestId: requestId,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: env.PENETRATOR_LOCAL_FUNCTION_ARN,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

let handler;
try {
  handler = await load();
} catch (error) {
  await send({ type: 'init-error', error: envelope(error) });
  process.exit(1);
}

process.on('message', (message) => {
  if (message?.type !== 'invoke') return;
  const { id, event, requestId, deadline } = message;
  Promise.resolve()
    .then(() => handler(event, contextFor(requestId, deadline)))
    .then(
      // Lambda answers with the result's JSON: undefined becomes null.
      (value) => send({ type: 'result', id, ok: true, value: value === undefined ? null : value }),
      (error) => send({ type: 'result', id, ok: false, error: envelope(error) }),
    )
    .catch((error) => send({ type: 'result', id, ok: false, error: envelope(error) }));
});
// The parent's channel closing is the container's end.
process.on('disconnect', () => process.exit(0));
await send({ type: 'ready', node: process.version });
