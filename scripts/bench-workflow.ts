/**
 * Benchmark of the workflow definition itself: the synthesized state machine run locally with
 * in-process handlers that answer at once (no cluster, no SSH), for growing task sizes. It prints,
 * per size, the wall time, the state transitions (what Step Functions bills), the Map's result
 * payload (bounded by the 256 KiB state limit) and the peak heap. Then, for every Lambda bundle of the
 * same synthesis, its size and its cold module load (a fresh Node.js 24 process importing the entry,
 * as Lambda's runtime does at a cold start), as `name=value` lines. Usage: npm run bench:definition [-- 10 100 1000]
 * (`npm run bench` runs the real cluster: scripts/bench/).
 */
import { join } from 'node:path';
import { synthesizeAssembly } from '../cli/local/assembly';
import { lambdaNode } from '../cli/local/lambda-node';
import { runWorkflowLocally } from '../cli/local/run-workflow';
import { InstallRunningError } from '../lambdas/errors';
import type {
  CheckOutput,
  LambdaName,
  NodeStepInput,
  NodeWork,
  PlanOutput,
  SummarizeInput,
  TaskRef,
  WorkflowHandler,
} from '../lambdas/domain/contracts';
import { summarize } from '../lambdas/domain/summary';
import { FileObjectStore } from '../lambdas/adapters/file-objects';
import type { ObjectStore } from '../lambdas/ports';
import { readMapResults } from '../lambdas/use-cases/summarize';
import { writeWork } from '../lambdas/use-cases/work-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { bundleFigures } from './bench/bundles';

// The warning about the AWS SDK's 2027 releases on Node < 22 would only clutter the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const STATE_PAYLOAD_LIMIT = 256 * 1024;

function task(executionId: string): TaskRef {
  return {
    name: 'bench',
    cluster: 'bench',
    labelValue: 'bench-abcdef',
    mode: 'proxy',
    installer: 'edgeadm',
    credential: 'login-secret',
    sshUser: 'root',
    sshPort: 22,
    executionId,
    maxAttempts: 3,
    attemptTimeoutSeconds: 900,
    pollSeconds: 15,
  };
}

function nodes(count: number): NodeWork[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `edge-${i.toString(36).padStart(6, '0')}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    proxyNode: `proxy-${i % 4}`,
    reinstall: false,
  }));
}

/** Every node needs one poll (Running, then Succeeded), as a real install does at least once. */
function handlers(
  count: number,
  resultBytes: { value: number },
  objects: ObjectStore,
): Record<LambdaName, WorkflowHandler> {
  const polled = new Set<string>();
  return {
    plan: async (p) => {
      const { executionId } = p as { executionId: string };
      const plan: PlanOutput = {
        task: task(executionId),
        work: await writeWork({ objects }, executionId, nodes(count), []),
        maxConcurrency: 50,
      };
      return plan;
    },
    lock: () => Promise.resolve(null),
    prepare: (p) => Promise.resolve({ ...(p as { task: TaskRef }).task, ownerUid: 'uid', taskObject: 'obj' }),
    startInstall: (p) =>
      Promise.resolve({ job: `job-${(p as NodeStepInput).node.name}`, number: 1, waitSeconds: 1 }),
    checkInstall: (p) => {
      const name = (p as NodeStepInput).node.name;
      const done = polled.has(name);
      polled.add(name);
      if (!done) return Promise.reject(new InstallRunningError(`${name} is still running`));
      return Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] });
    },
    summarize: async (p) => {
      // What the state carries into Summarize: references and counts, the results being objects.
      const input = p as SummarizeInput;
      resultBytes.value = Buffer.byteLength(JSON.stringify(input));
      return summarize({ results: await readMapResults(objects, input.results), skipped: [] });
    },
    cleanup: () => Promise.resolve(null),
  };
}

async function measure(definition: object, count: number): Promise<string[]> {
  const resultBytes = { value: 0 };
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = process.hrtime.bigint();
  const dir = mkdtempSync(join(tmpdir(), 'penetrator-bench-'));
  const objects = new FileObjectStore(dir);
  const result = await runWorkflowLocally({
    definition,
    input: { nodeTask: {} },
    handlers: handlers(count, resultBytes, objects),
    objects,
    pollSeconds: 0,
    retryIntervalSeconds: 0,
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  if (result.status !== 'SUCCEEDED') throw new Error(`${count} nodes: ${result.error}: ${result.cause}`);
  return [
    String(count),
    seconds.toFixed(2),
    String(result.transitions),
    (result.transitions / count).toFixed(1),
    `${(resultBytes.value / 1024).toFixed(1)} KiB (${((100 * resultBytes.value) / STATE_PAYLOAD_LIMIT).toFixed(0)}%)`,
    `${(peakHeap / 1024 / 1024).toFixed(0)} MiB`,
  ];
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const assembly = await synthesizeAssembly();
try {
  const rows = [['NODES', 'SECONDS', 'TRANSITIONS', 'PER-NODE', 'MAP-RESULT', 'PEAK-HEAP']];
  for (const count of sizes.length > 0 ? sizes : [10, 100, 1000]) {
    rows.push(await measure(assembly.definition, count));
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  console.log(`node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
  for (const bundle of bundleFigures(assembly.functions)) {
    console.log(
      `bundle.${bundle.name}.bytes=${bundle.bytes}\nbundle.${bundle.name}.cold_load_ms=${bundle.coldLoadMs}`,
    );
  }
  console.log(`lambda_node=${lambdaNode(Object.values(assembly.functions)[0]!.runtime).version}`);
} finally {
  assembly.dispose();
}
